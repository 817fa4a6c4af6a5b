"""HTML to text keeps every visible word of real documentation pages, and their structure."""

from __future__ import annotations

from pathlib import Path

from services.rag.html import html_to_text

DOCS = Path(__file__).resolve().parents[2] / "data" / "docs"


def test_every_list_item_of_a_real_page_is_kept_on_its_own_line():
    text = html_to_text((DOCS / "libffi-Thread-Safety.html").read_bytes())
    lines = text.splitlines()
    # trafilatura dropped this second rule, so the next sentence read as part of the first one
    assert any(line.startswith("- On some platforms, ffi_prep_cif may modify the size and alignment") for line in lines)
    assert any(line.startswith("- ffi_prep_cif may modify the ffi_type objects") for line in lines)
    assert "Currently the only affected platform is PowerPC" in text


def test_definition_lists_and_headings_keep_their_text():
    text = html_to_text((DOCS / "users-and-groups.html").read_bytes())
    assert "Chapter 1. Introduction" in text.splitlines()
    assert "dialout" in text.splitlines()
    assert "Full and direct access to serial ports." in text


def test_tables_become_rows_of_cells_and_scripts_vanish():
    html = b"""<html><head><title>t</title><style>p{}</style></head><body><h2>Limits</h2>
    <table><tr><th>name</th><th>default</th></tr><tr><td>max files</td><td>10</td></tr></table>
    <script>var hidden = 1;</script><dl><dt>term</dt><dd>its definition</dd></dl><p>a<br>b</p></body></html>"""
    assert html_to_text(html).splitlines() == [
        "Limits",
        "",
        "name | default",
        "max files | 10",
        "",
        "term",
        "its definition",
        "",
        "a",
        "b",
    ]


def test_empty_or_broken_input_is_empty_text():
    assert html_to_text(b"") == ""
    assert html_to_text(b"   ") == ""
