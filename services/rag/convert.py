"""Untrusted files become text chunks in a child process with memory, CPU and time limits.

A hostile file (a .docx that inflates to gigabytes, a PDF that takes an hour)
must cost one job, never the rag process or other users' jobs. So:

* a .docx (a zip) is checked before parsing: member count, total uncompressed
  size and compression ratio, from the central directory;
* parsing, cleaning and splitting run in ``python -m services.rag.convert``,
  which limits itself (``RLIMIT_AS`` = its size after imports + headroom,
  ``RLIMIT_CPU``) and is killed at a wall-clock deadline or when the job is
  cancelled;
* the extracted text and the chunk count are capped per document.

Every refusal is a ``ConversionRefused`` with a code and a message a user can
act on; the job ends FAILED with both and nothing is written. Plain text up
to 1 MiB is split in-process (nothing to parse, no child to start), under the
same caps; larger text goes to the child like everything else, so its CPU is
bounded and a cancel stops it at once.

Usage::

    chunks = split_file(path, mime_type, Limits(), chunk_words=120, overlap=1, should_stop=lambda: False)
    # [{"content": "...", "page_number": 2}, ...]
"""

from __future__ import annotations

import functools
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from services.rag import text as mime

log = logging.getLogger("agenthub.rag.convert")

MIB = 1024 * 1024
CHILD_REFUSED = 3  # the child's exit status when it wrote a refusal
IN_PROCESS_TEXT_BYTES = 1024 * 1024  # plain text up to this is split in-process: no child to start


class ConversionRefused(Exception):
    """The file cannot become a document within the limits; ``code`` says which limit."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ConversionStopped(Exception):
    """The caller asked the conversion to stop (the job was cancelled)."""


@dataclass(frozen=True)
class Limits:
    memory_headroom_mb: int = 1024  # RLIMIT_AS = the converter's size after imports + this
    cpu_seconds: int = 120
    wall_seconds: float = 600.0
    max_text_chars: int = 5_000_000
    max_chunks: int = 5_000
    zip_max_bytes: int = 256 * MIB
    zip_max_ratio: int = 100
    zip_max_members: int = 10_000


def check_zip(path: str | Path, limits: Limits) -> None:
    """Refuse a zip (.docx) whose central directory promises too much, before anything inflates.

    Sizes come from the directory; the inflating reader (zipfile) also stops at
    the declared size, so a lying directory cannot make a member larger.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConversionRefused("UNREADABLE_FILE", f"the file is not a readable zip archive ({exc})") from None
    if len(members) > limits.zip_max_members:
        raise ConversionRefused(
            "TOO_MANY_ZIP_MEMBERS", f"the archive has {len(members)} members (limit {limits.zip_max_members})"
        )
    total = sum(m.file_size for m in members)
    if total > limits.zip_max_bytes:
        raise ConversionRefused(
            "ZIP_TOO_LARGE",
            f"the archive inflates to {total / MIB:.0f} MiB (limit {limits.zip_max_bytes / MIB:.0f} MiB)",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MIB and ratio > limits.zip_max_ratio:
            raise ConversionRefused(
                "ZIP_RATIO_TOO_HIGH",
                f"'{member.filename[:80]}' inflates {ratio:.0f}:1 (limit {limits.zip_max_ratio}:1)",
            )


def _check_text(length: int, limits: Limits) -> None:
    if length > limits.max_text_chars:
        raise ConversionRefused(
            "TEXT_TOO_LONG", f"the document has {length} characters of text (limit {limits.max_text_chars})"
        )


def _check_chunks(count: int, limits: Limits) -> None:
    if count > limits.max_chunks:
        raise ConversionRefused("TOO_MANY_CHUNKS", f"the document makes {count} chunks (limit {limits.max_chunks})")


# ---------------------------------------------------------------- the parsing itself (child side)


@functools.lru_cache(maxsize=len(mime.SUPPORTED))
def _converter(mime_type: str):
    """The converter of ``mime_type``, importing only its own module: plain text is converted in
    the rag process, which so never loads the PDF, .docx, Markdown and HTML parsers (about 15 MB and
    0.12 s at the first job)."""
    if mime_type == mime.TEXT:
        from haystack.components.converters.txt import TextFileToDocument

        return TextFileToDocument(encoding="utf-8")
    if mime_type == mime.MARKDOWN:
        from haystack.components.converters.markdown import MarkdownToDocument

        return MarkdownToDocument(progress_bar=False, encoding="utf-8")
    if mime_type == mime.HTML:
        from services.rag.html import HTMLToText

        return HTMLToText()  # not HTMLToDocument: trafilatura drops list items
    if mime_type == mime.PDF:
        from haystack.components.converters.pypdf import PyPDFToDocument

        return PyPDFToDocument()
    if mime_type == mime.DOCX:
        from haystack.components.converters.docx import DOCXToDocument

        return DOCXToDocument()
    raise KeyError(mime_type)


@functools.lru_cache(maxsize=4)
def _preprocessors(chunk_words: int, overlap: int):
    """The cleaner and the splitter, made once: making them (Haystack inspects each component's
    ``run`` signature) cost as much CPU as cleaning and splitting a 24 KiB text. Both are stateless,
    so the native threads that convert share them."""
    from haystack.components.preprocessors import DocumentCleaner, DocumentSplitter

    from services.rag.text import sentence_chunks

    cleaner = DocumentCleaner(
        remove_empty_lines=False,
        remove_extra_whitespaces=False,
        unicode_normalization="NFKC",
        replace_regexes={r"[ \t\u00a0]+": " ", r" *\n *": "\n", r"\n{3,}": "\n\n"},
    )
    splitter = DocumentSplitter(
        split_by="function",
        splitting_function=partial(sentence_chunks, max_words=chunk_words, overlap_sentences=overlap),
    )
    return cleaner, splitter


def _utf8(data: bytes) -> bytes:
    """Text with a UTF-16 byte-order mark, re-encoded so every converter reads UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").encode("utf-8")
    return data


def extract_chunks(data: bytes, mime_type: str, limits: Limits, chunk_words: int, overlap: int) -> list[dict[str, Any]]:
    """Blocking (CPU): convert → (cap) → clean → split → (cap); chunks as ``{"content", "page_number"?}``."""
    from haystack.dataclasses import ByteStream

    if mime_type not in mime.SUPPORTED:
        raise ConversionRefused("UNSUPPORTED_TYPE", f"unsupported content type {mime_type}")
    if mime_type in (mime.TEXT, mime.MARKDOWN, mime.HTML):
        if len(data) > 4 * limits.max_text_chars:  # at most 4 bytes a character: surely too long
            _check_text(len(data) // 4, limits)
        data = _utf8(data)
    warnings = _Warnings()
    logging.getLogger("haystack").addHandler(warnings)
    try:
        documents = _converter(mime_type).run(sources=[ByteStream(data=data)])["documents"]
    except MemoryError:
        raise
    except Exception as exc:  # converters raise on some malformed inputs
        raise ConversionRefused("UNREADABLE_FILE", f"the file could not be read: {type(exc).__name__}") from exc
    finally:
        logging.getLogger("haystack").removeHandler(warnings)
    if not documents and warnings.messages:  # Haystack's converters log a failure and skip the file
        if any(sign in m.lower() for m in warnings.messages for sign in _OUT_OF_MEMORY):
            raise MemoryError()
        detail = warnings.messages[-1]
        for separator in ("Error:", "skipping."):  # the converters' own wording; never the bytes
            if separator in detail:
                detail = detail.rpartition(separator)[2]
                break
        else:
            detail = ""
        detail = detail.strip()[:200] or "unknown reason"
        raise ConversionRefused("UNREADABLE_FILE", f"the file could not be read: {detail}")
    _check_text(sum(len(d.content or "") for d in documents), limits)
    cleaner, splitter = _preprocessors(chunk_words, overlap)
    splits = splitter.run(documents=cleaner.run(documents=documents)["documents"])["documents"]
    chunks = [
        {"content": d.content, **({"page_number": d.meta["page_number"]} if "page_number" in d.meta else {})}
        for d in splits
        if d.content and d.content.strip()
    ]
    if not chunks:
        raise ConversionRefused("NO_TEXT", "no text could be extracted from the file")
    _check_chunks(len(chunks), limits)
    return chunks


# How zlib, lxml and Python say that an allocation failed (under RLIMIT_AS).
_OUT_OF_MEMORY = ("memoryerror", "unable to allocate", "memory allocation failed", "out of memory", "cannot allocate")


class _Warnings(logging.Handler):
    """What a converter logged while it skipped a file it could not read."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:500])


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(argv: list[str]) -> int:
    """``python -m services.rag.convert REQUEST.json``: limits itself, converts, writes the result."""
    request = json.loads(Path(argv[0]).read_text())
    limits = Limits(**request["limits"])
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    for heavy in ("torch", "transformers", "sentence_transformers"):  # Haystack imports them if present;
        sys.modules[heavy] = None  # type: ignore[assignment]  # parsing needs none: 4 s and 1 GB less
    # imported before the memory limit is set
    import haystack.components.converters
    import haystack.components.preprocessors  # noqa: F401

    _converter(request["mime_type"])
    limit = _address_space() + limits.memory_headroom_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    output = Path(request["output"])
    try:
        if request["mime_type"] == mime.DOCX:
            check_zip(request["input"], limits)
        data = Path(request["input"]).read_bytes()
        result: dict[str, Any] = {
            "chunks": extract_chunks(data, request["mime_type"], limits, request["chunk_words"], request["overlap"])
        }
        status = 0
    except ConversionRefused as refused:
        result, status = {"code": refused.code, "message": str(refused)}, CHILD_REFUSED
    except MemoryError:
        result, status = (
            {
                "code": "MEMORY_LIMIT",
                "message": f"converting the file needed more than {limits.memory_headroom_mb} MB of memory",
            },
            CHILD_REFUSED,
        )
    output.write_text(json.dumps(result))
    return status


# ---------------------------------------------------------------- the parent side


def _refusal_of(returncode: int, limits: Limits) -> ConversionRefused:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return ConversionRefused("CPU_LIMIT", f"converting the file took more than {limits.cpu_seconds} s of CPU")
    return ConversionRefused("CONVERTER_CRASHED", f"the converter stopped unexpectedly (exit status {returncode})")


def split_file(
    path: str | Path,
    mime_type: str,
    limits: Limits,
    *,
    chunk_words: int,
    overlap: int,
    should_stop: Callable[[], bool] = lambda: False,
    poll: float = 0.25,
) -> list[dict[str, Any]]:
    """The file's chunks, converted in a limited child process (plain text up to 1 MiB in-process:
    nothing to parse, and splitting it takes well under a second).

    Call it on the eventlet hub, not offloaded: it blocks only the calling green thread (it polls
    with sleeps). ``should_stop`` is asked about once a second; when it says yes the child is
    killed and ``ConversionStopped`` is raised.
    """
    if mime_type == mime.TEXT and os.path.getsize(path) <= IN_PROCESS_TEXT_BYTES:
        from core.offload import offload

        return offload(extract_chunks, Path(path).read_bytes(), mime_type, limits, chunk_words, overlap)
    if mime_type == mime.DOCX:
        check_zip(path, limits)  # here too: a bomb is refused without even starting the child
    with tempfile.TemporaryDirectory(prefix="agenthub-convert-") as workdir:
        request, output = Path(workdir) / "request.json", Path(workdir) / "result.json"
        request.write_text(
            json.dumps(
                {
                    "input": str(path),
                    "output": str(output),
                    "mime_type": mime_type,
                    "limits": asdict(limits),
                    "chunk_words": chunk_words,
                    "overlap": overlap,
                }
            )
        )
        errors = Path(workdir) / "stderr.txt"
        with open(errors, "wb") as stderr:
            child = subprocess.Popen(
                [sys.executable, "-m", "services.rag.convert", str(request)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        deadline, next_check = time.monotonic() + limits.wall_seconds, time.monotonic()
        try:
            while child.poll() is None:
                now = time.monotonic()
                if now > deadline:
                    raise ConversionRefused(
                        "TIME_LIMIT", f"converting the file took longer than {limits.wall_seconds:.0f} s"
                    )
                if now >= next_check:
                    next_check = now + 1.0
                    if should_stop():
                        raise ConversionStopped()
                time.sleep(poll)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if child.returncode not in (0, CHILD_REFUSED) or not output.exists():
            log.warning("converter exited with %s: %s", child.returncode, errors.read_text(errors="replace")[-2000:])
            raise _refusal_of(child.returncode, limits)
        result = json.loads(output.read_text())
    if child.returncode == CHILD_REFUSED:
        raise ConversionRefused(result["code"], result["message"])
    return result["chunks"]


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
