"""Flashduty's Markdown-ish text -> Jira ADF (Cloud, API v3) or Jira wiki markup (API v2).

Public API
----------
``markdown_to_adf(text) -> dict``
    An ADF document ``{"type": "doc", "version": 1, "content": [...]}`` that always validates
    against the official ADF schema. Empty or blank input gives ``content: []`` (the schema
    allows an empty doc).
``markdown_to_wiki(text) -> str``
    Jira wiki markup. Characters wiki markup would interpret in the user's plain text are
    escaped, so text shows as typed.
``adf_to_text(doc) -> str``
    Plain text from any ADF document (comments read back from Cloud). Never raises.
``link_paragraph(label, url, prefix="") -> dict``
    One ADF paragraph: ``prefix`` as plain text, then ``label`` linked to ``url``.
``append_link_adf(doc, label, url, prefix="") -> dict``
    A new doc: ``doc`` plus ``link_paragraph(...)`` at the end (``doc`` is not modified).
``wiki_link(label, url) -> str`` / ``append_link_wiki(text, label, url, prefix="") -> str``
    The same for wiki markup: ``[label|url]`` with the label escaped and the URL made safe.

Example: ``append_link_adf(markdown_to_adf(desc), "View incident in Flashduty", detail_url)``.
A URL whose scheme is javascript:/vbscript:/data:/file: is never linked: the label is kept
as plain text.

How it works
------------
``tree.py`` turns markdown-it-py's token stream into a small tree of ``Block``/``Span``;
``adf.py`` and ``wiki.py`` walk that tree; ``adf_text.py`` reads ADF back. ADF restricts which node may contain which (a list item
cannot hold a heading, a quote cannot hold a quote or a rule, ...): the ADF emitter demotes
such nodes to allowed ones (heading -> bold paragraph, nested quote -> its content, rule ->
"---" text, table -> one paragraph per row) instead of producing an invalid document.
Input nested deeper than markdown-it's limit would be silently truncated by the parser, so
such input is rendered as plain paragraphs instead.
"""
from .adf import append_link_adf, link_paragraph, markdown_to_adf
from .adf_text import adf_to_text
from .wiki import append_link_wiki, markdown_to_wiki, wiki_link

__all__ = [
    "adf_to_text",
    "append_link_adf",
    "append_link_wiki",
    "link_paragraph",
    "markdown_to_adf",
    "markdown_to_wiki",
    "wiki_link",
]
