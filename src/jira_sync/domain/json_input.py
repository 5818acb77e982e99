"""JSON that every store and reader can hold: the rules shared by webhooks and the REST API.

Pure functions, no I/O. `loads` is `json.loads` with bounds: every integer fits int64
(an int64 has at most 19 digits; Python refuses to read past 4,300 and would raise a bare
ValueError), every other number is finite, `NaN`/`Infinity` are refused (they are not
JSON, and PostgreSQL's json type rejects them), and nesting is bounded. `unstorable` finds
text that neither UTF-8 nor PostgreSQL can hold: lone surrogates and NUL.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 32  # levels of objects and arrays
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


class JsonRejected(ValueError):
    """Not JSON we accept; the message says why, and never quotes more than a number's start."""


# orjson reads plain UTF-8 JSON about ten times faster than the json module, but not by
# these rules: an integer past 64 bits silently becomes a float, and it nests 1,024 levels.
# So it reads only bodies that cannot hold either (no run of 19 digits, which every integer
# outside int64 needs; fewer brackets than the json module's recursion limit could choke
# on); whatever it refuses (NaN, 1e400, lone surrogates, not UTF-8, a BOM, not JSON at
# all) goes to the json module below, which says why in the words the tests know.
# (Digits are mapped to "0" and everything else to " " by one C pass, then searched for 19
# zeros: a regex for the same costs 10 times more.)
_DIGITS_ONLY = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_DIGITS = b"0" * 19
_FAST_BRACKETS = 256


def loads(body: bytes | str) -> Any:
    if (isinstance(body, bytes) and _LONG_DIGITS not in body.translate(_DIGITS_ONLY)
            and body.count(b"{") + body.count(b"[") < _FAST_BRACKETS):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the json module finds the exact problem (or reads what orjson refuses, e.g. UTF-16)
    try:
        if isinstance(body, (bytes, bytearray)):  # as json.loads does: UTF-8/16/32, surrogates kept
            body = body.decode(json.detect_encoding(body), "surrogatepass")
        return _DECODER.decode(body)
    except JsonRejected:
        raise
    except json.JSONDecodeError as e:
        raise JsonRejected(f"body is not JSON: {e.msg} at line {e.lineno} column {e.colno} (char {e.pos})") from None
    except UnicodeDecodeError as e:  # json.loads(bytes) decodes UTF-8/16/32 first
        raise JsonRejected(f"body is not JSON: invalid {e.encoding} at byte {e.start}") from None
    except RecursionError:
        raise JsonRejected("body is not usable JSON: nested too deeply") from None
    except ValueError as e:  # anything else json refuses: never a 500
        raise JsonRejected(f"body is not usable JSON: {e}") from None


def too_deep(value: Any, depth: int = 1) -> bool:
    """Whether objects and arrays nest more than MAX_DEPTH levels (the value itself is level 1)."""
    if isinstance(value, dict):
        return depth > MAX_DEPTH or any(too_deep(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return depth > MAX_DEPTH or any(too_deep(v, depth + 1) for v in value)
    return False


def unstorable(value: Any, path: str = "") -> str | None:
    """The path of the first key or string holding a lone surrogate or NUL, or None.
    Call it on a value `too_deep` accepted."""
    if isinstance(value, str):
        return path or "body" if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if UNSTORABLE.search(str(k)):
                return path or "body"
            found = unstorable(v, here)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = unstorable(v, f"{path}[{i}]")
            if found:
                return found
    return None


def shorten(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"


def _int_literal(text: str) -> int:
    if len(text) < 19:  # up to 18 characters always fits: the common case, kept quick
        return int(text)
    # The literal's length is checked first: int() of a 5,000-digit string raises, and is slow.
    value = int(text) if len(text) <= 20 else None
    if value is None or not INT64_MIN <= value <= INT64_MAX:
        raise JsonRejected(f"body has an integer outside the int64 range: {shorten(text)}")
    return value


def _float_literal(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRejected(f"body has a number too large for a double: {shorten(text)}")
    return value


def _constant(name: str) -> Any:
    raise JsonRejected(f"body is not JSON: {name} is not a JSON value")


# built once: json.loads with hooks would build a decoder per call (~5 µs on the ingest path)
_DECODER = json.JSONDecoder(parse_int=_int_literal, parse_float=_float_literal, parse_constant=_constant)
