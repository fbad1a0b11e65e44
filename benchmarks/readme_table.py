"""The README's copy of a results table: the table after README_MARKER, and the bullet list right after it, are
replaced with those of the report. Flag-free, so tests import it beside other benchmarks' flags."""

import re

README_MARKER = "<!-- results table: generated"


def table_block(lines, start):
    """(first, end) indices of the markdown table that begins at or after line `start`, with the bullet list that
    follows it after one blank line, if any (a table's findings)."""
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    end = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))
    if end + 1 < len(lines) and lines[end] == "" and lines[end + 1].startswith("- "):
        end = next((i for i in range(end + 1, len(lines)) if not lines[i].startswith("- ")), len(lines))
    return first, end


def copy_table(report, page):
    """Replace the table after README_MARKER in `page`, and its bullets, with a table of the report and its bullets:
    the first one under the heading the marker names (`from "## <heading>"`), else the report's first table."""
    with open(report) as f:
        source = f.read().splitlines()
    with open(page) as f:
        target = f.read().splitlines()
    marker = next((i for i, line in enumerate(target) if line.startswith(README_MARKER)), None)
    if marker is None:
        raise SystemExit(f"[benchmark] --readme {page}: no line starting {README_MARKER!r} before its results table")
    named = re.search(r'from "([^"]+)"', target[marker])
    start = 0
    if named:
        start = next((i for i, line in enumerate(source) if line == named.group(1)), None)
        if start is None:
            raise SystemExit(f"[benchmark] --readme {page}: its marker names {named.group(1)!r}, a heading the report "
                             "does not have")
    first, end = table_block(source, start)
    into_first, into_end = table_block(target, marker + 1)
    target[into_first:into_end] = source[first:end]
    with open(page, "w") as f:
        f.write("\n".join(target) + "\n")
