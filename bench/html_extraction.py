"""How much of a real HTML page's visible text each converter keeps.

``python -m bench.html_extraction [--converter both|lxml|trafilatura]`` converts every page under
``tests/data/docs`` and reports *coverage*: the share of the page's visible words (lxml's
``text_content()`` of ``<body>`` without scripts and styles, counted with multiplicity) found in
the converter's output. Trafilatura is run as Haystack's ``HTMLToDocument`` runs it (defaults).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import lxml.html

DOCS = Path(__file__).resolve().parents[1] / "tests" / "data" / "docs"
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> Counter:
    return Counter(w.lower() for w in _WORD.findall(text or ""))


def reference(data: bytes) -> Counter:
    root = lxml.html.document_fromstring(data)
    for element in root.xpath("//script|//style|//noscript|//head"):
        element.drop_tree()
    body = root.find("body")
    return words((body if body is not None else root).text_content())


def coverage(kept: Counter, wanted: Counter) -> float:
    total = sum(wanted.values())
    return sum(min(count, kept[word]) for word, count in wanted.items()) / total if total else 1.0


def convert(name: str, data: bytes) -> str:
    if name == "lxml":
        from services.rag.html import html_to_text

        return html_to_text(data)
    import trafilatura  # what Haystack's HTMLToDocument used; not a dependency any more

    return trafilatura.extract(data.decode("utf-8", "replace")) or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--converter", choices=["both", "lxml", "trafilatura"], default="both")
    args = parser.parse_args()
    names = ["trafilatura", "lxml"] if args.converter == "both" else [args.converter]
    pages = sorted(DOCS.glob("*.html"))
    totals = {name: [0, 0] for name in names}
    print(f"{'page':42}" + "".join(f"{name:>13}" for name in names))
    for page in pages:
        data = page.read_bytes()
        wanted = reference(data)
        row = f"{page.name:42}"
        for name in names:
            kept = words(convert(name, data))
            covered = sum(min(count, kept[word]) for word, count in wanted.items())
            totals[name][0] += covered
            totals[name][1] += sum(wanted.values())
            row += f"{coverage(kept, wanted):13.3f}"
        print(row)
    print(
        f"{'all pages (words kept / words shown)':42}"
        + "".join(f"{totals[name][0] / max(1, totals[name][1]):13.3f}" for name in names)
    )


if __name__ == "__main__":
    main()
