#!/usr/bin/env python3
"""Fail when a book listing points at nothing.

mdBook exits 0 when an `{{#include}}` names a missing file or anchor: it keeps
the directive or renders an empty block. This check reads every chapter under
the given directory and, for each include, verifies that the file exists, that
an anchored include names an anchor opened (`ANCHOR: name`) and closed
(`ANCHOR_END: name`) in that file, and that no whole-file include of a file
with anchors leaks the marker lines into the book. It reports `file:line`.
"""
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r"\{\{#(include|rustdoc_include)\s+([^}\s]+)\s*\}\}")


def check_include(md: Path, lineno: int, target: str) -> list[str]:
    where = f"{md}:{lineno}"
    path_part, _, selector = target.partition(":")
    path = (md.parent / path_part).resolve()
    if not path.is_file():
        return [f"{where}: included file not found: {path_part}"]
    text = path.read_text(encoding="utf-8")
    if not selector:
        if "ANCHOR:" in text:
            return [f"{where}: whole-file include of {path_part}, which has anchors: name one"]
        return []
    first = selector.split(":")[0]
    if first == "" or first.isdigit():
        return []  # a line range, checked by mdBook itself
    anchor = first
    opens = re.search(rf"ANCHOR:\s*{re.escape(anchor)}\b", text)
    closes = re.search(rf"ANCHOR_END:\s*{re.escape(anchor)}\b", text)
    if not opens:
        return [f"{where}: anchor '{anchor}' not found in {path_part}"]
    if not closes:
        return [f"{where}: anchor '{anchor}' is never closed (ANCHOR_END) in {path_part}"]
    return []


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "book/src")
    errors: list[str] = []
    includes = 0
    for md in sorted(root.rglob("*.md")):
        for lineno, line in enumerate(md.read_text(encoding="utf-8").splitlines(), 1):
            for match in INCLUDE.finditer(line):
                includes += 1
                errors.extend(check_include(md, lineno, match.group(2)))
    for error in errors:
        print(error, file=sys.stderr)
    print(f"checked {includes} includes in {root}: {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
