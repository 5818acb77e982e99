"""Secrets at rest and webhook secrets.

Jira credentials and Flashduty app keys must be sent again, so they are encrypted
(Fernet: AES-128-CBC + HMAC-SHA256). Webhook secrets are only compared, so only
their SHA-256 is stored and the comparison is constant-time.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken


def generate_key() -> str:
    return Fernet.generate_key().decode()


def check_key(key: str) -> None:
    try:
        Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError("secret key is not a valid Fernet key (generate one with: jira-sync keygen)") from exc


class SecretBox:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str, ttl: int | None = None) -> str:
        """The plaintext; with `ttl`, only for a token made at most that many seconds ago."""
        try:
            return self._fernet.decrypt(token.encode(), ttl=ttl).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted: was JIRA_SYNC_SECRET_KEY changed?") from exc

    def __repr__(self) -> str:  # never print key material
        return "SecretBox(<secret>)"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_webhook_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def webhook_secret_matches(presented: str | None, stored_hash: str | tuple[str, ...]) -> bool:
    """`stored_hash`: one hash, or every hash accepted (a rotated secret in its grace period)."""
    hashes = (stored_hash,) if isinstance(stored_hash, str) else stored_hash
    if not presented:
        # still spend the comparison so a missing secret takes as long as a wrong one
        hmac.compare_digest(hashes[0], "0" * len(hashes[0]))
        return False
    given = hash_webhook_secret(presented)
    # compare with every hash (no early exit): the time taken says nothing about which matched
    matches = [hmac.compare_digest(given, h) for h in hashes]
    return any(matches)


def new_admin_token() -> str:
    return secrets.token_urlsafe(32)


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Jira's admin webhook signature: `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def text_matches(presented: str | None, secret: str) -> bool:
    """A secret given in a URL (`?secret=`), compared in constant time."""
    return hmac.compare_digest((presented or "").encode(), secret.encode()) and bool(presented)
