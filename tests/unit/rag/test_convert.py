"""The converter's limits, on real files built here: zip checks before parsing, caps on text and
chunks, and the child process's memory limit. No servers."""

from __future__ import annotations

import time

import pytest

from services.rag import text as mime
from services.rag.convert import ConversionRefused, ConversionStopped, Limits, check_zip, split_file
from tests.support import samples


def write(tmp_path, data: bytes, name: str = "upload") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def refusal(path: str, mime_type: str, limits: Limits) -> ConversionRefused:
    with pytest.raises(ConversionRefused) as refused:
        split_file(path, mime_type, limits, chunk_words=120, overlap=1)
    return refused.value


def test_a_docx_inflating_past_the_limit_is_refused_from_its_directory(tmp_path):
    bomb = samples.docx_bomb(300 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024
    started = time.monotonic()
    with pytest.raises(ConversionRefused) as refused:
        check_zip(write(tmp_path, bomb), Limits())
    assert refused.value.code == "ZIP_TOO_LARGE" and "(limit 256 MiB)" in str(refused.value)
    assert time.monotonic() - started < 1.0


def test_a_highly_compressed_member_is_refused_by_its_ratio(tmp_path):
    bomb = samples.docx_bomb(20 * 1024 * 1024)
    assert refusal(write(tmp_path, bomb), mime.DOCX, Limits()).code == "ZIP_RATIO_TOO_HIGH"


def test_the_child_process_stops_at_its_memory_limit(tmp_path):
    """Past the zip checks (limits raised for the test), parsing 200 MB of XML needs far more than
    the child's 64 MB of headroom: MEMORY_LIMIT, and this process never holds it."""
    bomb = samples.docx_bomb(200 * 1024 * 1024)
    limits = Limits(memory_headroom_mb=64, zip_max_ratio=100_000, cpu_seconds=60, wall_seconds=120)
    started = time.monotonic()
    assert refusal(write(tmp_path, bomb), mime.DOCX, limits).code in ("MEMORY_LIMIT", "CONVERTER_CRASHED")
    assert time.monotonic() - started < 120


def test_text_and_chunk_caps(tmp_path):
    text = ("The quick brown fox jumps over the lazy dog near the river bank. " * 2000).encode()
    assert refusal(write(tmp_path, text), mime.TEXT, Limits(max_text_chars=10_000)).code == "TEXT_TOO_LONG"
    assert refusal(write(tmp_path, text), mime.TEXT, Limits(max_chunks=10)).code == "TOO_MANY_CHUNKS"
    html = b"<html><body>" + b"<p>" + text + b"</p></body></html>"
    assert refusal(write(tmp_path, html), mime.HTML, Limits(max_chunks=10)).code == "TOO_MANY_CHUNKS"


def test_a_real_docx_converts_in_the_child(tmp_path):
    data = samples.docx("Emperor penguins huddle together.", "They survive the Antarctic winter.")
    chunks = split_file(write(tmp_path, data), mime.DOCX, Limits(), chunk_words=120, overlap=1)
    assert "penguins" in chunks[0]["content"]


def test_a_conversion_stops_when_asked(tmp_path):
    data = samples.docx("Emperor penguins huddle together.")
    started = time.monotonic()
    with pytest.raises(ConversionStopped):
        split_file(write(tmp_path, data), mime.DOCX, Limits(), chunk_words=120, overlap=1, should_stop=lambda: True)
    assert time.monotonic() - started < 5
