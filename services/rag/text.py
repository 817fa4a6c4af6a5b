"""Content-type detection from bytes, and sentence-aware chunking.

Detection trusts the bytes: a PDF or DOCX is recognised by its structure, and a
name that promises one kind while the content is another is refused. Among
text kinds (plain, Markdown, HTML) the extension picks the converter.

Chunking is our own sentence splitter (NLTK's punkt data cannot be fetched
offline); Haystack's ``DocumentSplitter(split_by="function")`` calls it.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

TEXT = "text/plain"
MARKDOWN = "text/markdown"
HTML = "text/html"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SUPPORTED = (TEXT, MARKDOWN, HTML, PDF, DOCX)

EXTENSIONS = {
    ".txt": TEXT,
    ".text": TEXT,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".html": HTML,
    ".htm": HTML,
    ".pdf": PDF,
    ".docx": DOCX,
}
_BINARY = {PDF, DOCX}
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)


class UnsupportedContent(ValueError):
    """The bytes are not a supported document; the message is the reason, safe to show."""


@dataclass(frozen=True)
class Detected:
    mime_type: str
    extension_mime: str | None


def _extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


def _is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def _is_text(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 4  # a multi-byte character cut by the sample's end


def detect(data: bytes, filename: str) -> Detected:
    """The document's MIME type from its bytes; ``UnsupportedContent`` says why not."""
    if not data:
        raise UnsupportedContent("the file is empty")
    claimed = EXTENSIONS.get(_extension(filename))
    if data.startswith(b"%PDF-"):
        actual = PDF
    elif data.startswith(b"PK\x03\x04") and _is_docx(data):
        actual = DOCX
    elif _is_text(data):
        if claimed in (TEXT, MARKDOWN, HTML):
            actual = claimed
        elif _HTML_START.match(data[:2048]):
            actual = HTML
        else:
            actual = TEXT
    else:
        raise UnsupportedContent("the content is not text, Markdown, HTML, PDF or DOCX")
    if claimed in _BINARY and actual != claimed:
        raise UnsupportedContent(f"the name says {claimed} but the content is {actual}")
    if actual in _BINARY and claimed is not None and claimed != actual:
        raise UnsupportedContent(f"the name says {claimed} but the content is {actual}")
    return Detected(mime_type=actual, extension_mime=claimed)


# ---------------------------------------------------------------- sentences

# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) and
# whitespace, or at a blank line. Common abbreviations do not end one.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"')\]»”’]*\s+|\n\s*\n")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|mr|mrs|ms|dr|prof|inc|ltd|no|fig|cf|al)|\b[A-Z])\.$", re.IGNORECASE
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, whitespace excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start()
        while end > start and text[end - 1].isspace():
            end -= 1
        if "\n" not in match.group() and _ABBREVIATION.search(text[max(start, end - 12) : end]):
            continue
        if end > start:
            spans.append((start, end))
        start = match.end()
    tail_end = len(text.rstrip())
    if tail_end > start:
        spans.append((start, tail_end))
    return [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans if text[s:e].strip()]


def _words(text: str) -> int:
    return len(text.split())


def sentence_chunks(text: str, max_words: int = 120, overlap_sentences: int = 1) -> list[str]:
    """Verbatim slices of ``text`` made of whole sentences, each at most ``max_words``
    words (a longer single sentence is cut by words), consecutive chunks sharing
    ``overlap_sentences`` sentences."""
    units: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if _words(text[start:end]) <= max_words:
            units.append((start, end))
            continue
        for match in re.finditer(rf"(?:\S+\s+){{1,{max_words}}}", text[start:end] + " "):
            piece_end = min(start + match.end(), end)
            piece_start = start + match.start()
            while piece_end > piece_start and text[piece_end - 1].isspace():
                piece_end -= 1
            if piece_end > piece_start:
                units.append((piece_start, piece_end))
    chunks: list[str] = []
    i = 0
    while i < len(units):
        j, words = i, 0
        while j < len(units):
            count = _words(text[units[j][0] : units[j][1]])
            if j > i and words + count > max_words:
                break
            words += count
            j += 1
        chunks.append(text[units[i][0] : units[j - 1][1]])
        if j >= len(units):
            break
        # Overlap only when the shared sentences leave room for the next new one,
        # so no chunk is contained in its predecessor.
        nxt = max(j - overlap_sentences, i + 1)
        while nxt < j and sum(_words(text[a:b]) for a, b in units[nxt : j + 1]) > max_words:
            nxt += 1
        i = nxt
    return chunks
