"""What both HTML previews share: which URLs may be linked, and how links and code look.

The console's previews (`adf_html.py`, `wiki_html.py`) link only http(s) and mailto URLs,
with ``rel="noopener noreferrer" target="_blank"``; any other URL shows as its label.
"""
from __future__ import annotations

import re
from html import escape
from typing import Any

_LINKABLE = re.compile(r"(?:https?://|mailto:)\S", re.IGNORECASE)
_CODE_LANG_CHARS = re.compile(r"[^A-Za-z0-9_+#.-]")


def safe_href(url: Any) -> str:
    """The URL if the preview may link it (http, https, mailto), else ""."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    return url if _LINKABLE.match(url) else ""


def link(href: str, label_html: str) -> str:
    return f'<a href="{escape(href)}" rel="noopener noreferrer" target="_blank">{label_html}</a>'


def code_block(body: str, lang: str = "") -> str:
    lang = _CODE_LANG_CHARS.sub("", lang)[:40]
    cls = f' class="language-{escape(lang)}"' if lang else ""
    return f"<pre><code{cls}>{escape(body)}</code></pre>"
