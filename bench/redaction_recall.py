"""Recall and false positives of the built-in redaction detectors on the labelled corpus
(tests/redaction_corpus.py), per category.

    python bench/redaction_recall.py [--write docs/content-capture.md] [--misses]

``--write`` replaces the table between ``<!-- recall:start -->`` and ``<!-- recall:end -->`` in the
given file; ``--misses`` lists every missed value and altered look-alike.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import redaction_corpus as corpus  # noqa: E402

from genai_otel.redaction import RedactionPolicy  # noqa: E402

START, END = "<!-- recall:start -->", "<!-- recall:end -->"


def write(path: Path, table: str) -> None:
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path}: no {START} ... {END} section to replace")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--write", nargs="?", const=str(ROOT / "docs" / "content-capture.md"), metavar="MARKDOWN"
    )
    parser.add_argument("--misses", action="store_true", help="list misses and altered look-alikes")
    args = parser.parse_args()
    redact = RedactionPolicy().redact
    table = corpus.table(redact)
    print(table)
    if args.misses:
        for row in corpus.measure(redact).values():
            for line in [*(row.misses or []), *(row.altered or [])]:
                print(f"{row.category}: {line}")
    if args.write:
        write(Path(args.write), table)


if __name__ == "__main__":
    main()
