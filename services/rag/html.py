"""HTML to text that keeps every visible word, with lxml.

Haystack's ``HTMLToDocument`` uses trafilatura, which looks for a page's "main content" and drops
what it judges boilerplate: on documentation pages that meant whole list items, table cells and
definition-list entries (libffi's Thread-Safety page lost its second rule). Documents people
upload are the content; so this converter keeps all visible text and only gives it structure:
headings, paragraphs and list items on their own lines (items prefixed ``- ``), table cells joined
with `` | `` one row per line, definition terms before their definitions. ``bench/html_extraction.py``
measures both converters on the pages under ``tests/data/docs``.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from haystack import Document, component
from haystack.dataclasses import ByteStream
from lxml import etree

# Never text: code and metadata, and elements a browser does not render.
SKIPPED = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "meta",
        "link",
        "svg",
        "canvas",
        "iframe",
        "object",
        "embed",
        "select",
        "button",
    }
)
BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "aside",
        "header",
        "footer",
        "nav",
        "form",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "address",
        "fieldset",
        "details",
        "summary",
        "ul",
        "ol",
        "dl",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "caption",
        "center",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BREAK, _BLANK = "\x01", "\x02"
_BREAKS = re.compile(r"[\x01\x02][\x01\x02\s]*")


class _Writer:
    """Collects text and line breaks; collapses runs of whitespace and of empty lines."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, value: str | None) -> None:
        if value:
            self.parts.append(_SPACES.sub(" ", value.replace("\n", " ")))

    def raw(self, value: str | None) -> None:  # <pre>: keep its lines
        if value:
            self.parts.append(value)

    def newline(self, blank: bool = False) -> None:
        self.parts.append(_BLANK if blank else _BREAK)  # markers: a closing and an opening block share one

    def result(self) -> str:
        text = _BREAKS.sub(lambda m: "\n\n" if _BLANK in m.group() else "\n", "".join(self.parts))
        lines = [" ".join(line.split()) for line in text.split("\n")]
        text = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def _walk(element: Any, out: _Writer, in_pre: bool = False) -> None:
    tag = element.tag.lower() if isinstance(element.tag, str) else None
    if tag is None:  # a comment or processing instruction: only its tail is text
        (out.raw if in_pre else out.text)(element.tail)
        return
    if tag in SKIPPED or element.get("hidden") is not None:
        (out.raw if in_pre else out.text)(element.tail)
        return
    pre = in_pre or tag == "pre"
    if tag == "br":
        out.newline()
    elif tag in BLOCKS or tag in ("tr", "dt", "dd"):
        out.newline(blank=tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "blockquote"))
    if tag == "li":
        out.newline()
        out.text("- ")
    elif tag in ("td", "th") and element.getprevious() is not None:
        out.text(" | ")
    elif tag == "dd":
        out.text("  ")
    elif tag == "img" and element.get("alt"):
        out.text(f" {element.get('alt')} ")
    (out.raw if pre else out.text)(element.text)
    for child in element:
        _walk(child, out, pre)
    if tag in BLOCKS or tag in ("li", "tr", "dt", "dd"):
        out.newline(blank=tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "blockquote"))
    (out.raw if in_pre else out.text)(element.tail)


def html_to_text(data: bytes | str) -> str:
    """All visible text of an HTML document, one block per line."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError):
        return ""
    body = root.find("body")
    out = _Writer()
    _walk(body if body is not None else root, out)
    return out.result()


@component
class HTMLToText:
    """A Haystack converter: HTML ``ByteStream``s to ``Document``s with all their visible text."""

    @component.output_types(documents=list[Document])
    def run(self, sources: list[ByteStream]) -> dict[str, list[Document]]:
        documents = []
        for source in sources:
            data = source.data if isinstance(source, ByteStream) else bytes(source)
            documents.append(Document(content=html_to_text(data), meta=dict(getattr(source, "meta", {}) or {})))
        return {"documents": documents}
