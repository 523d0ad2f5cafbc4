#!/usr/bin/env python3
"""check-readme: the README's embedding example is the example's code.

Usage: check-readme.py README.md examples/embed/embed.c

Takes the first ```c block of the README's "## Embedding the library"
section and the lines strictly between `/* README:begin */` and
`/* README:end */` in the example, and fails with a diff when they differ
(trailing blanks aside). Exit 0 when equal, 1 when they differ, 2 when the
section, the block or the markers are missing.
"""
import difflib
import re
import sys

SECTION = "## Embedding the library"
BEGIN, END = "/* README:begin */", "/* README:end */"


def readme_block(text):
    i = text.find("\n" + SECTION + "\n")
    if i < 0:
        raise ValueError("README has no '%s' section" % SECTION)
    nxt = re.search(r"^## ", text[i + len(SECTION) + 2:], re.M)
    section = text[i:i + len(SECTION) + 2 + (nxt.start() if nxt else len(text))]
    m = re.search(r"^```c\n(.*?)^```\s*$", section, re.M | re.S)
    if not m:
        raise ValueError("the '%s' section has no ```c block" % SECTION)
    return m.group(1).split("\n")[:-1]


def example_region(text):
    lines = text.split("\n")
    starts = [k for k, l in enumerate(lines) if l.strip() == BEGIN]
    ends = [k for k, l in enumerate(lines) if l.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ValueError("the example needs one %s line and one %s line after it" % (BEGIN, END))
    return lines[starts[0] + 1:ends[0]]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            block = readme_block(f.read())
        with open(sys.argv[2], encoding="utf-8") as f:
            region = example_region(f.read())
    except (OSError, ValueError) as e:
        print("check-readme: %s" % e, file=sys.stderr)
        return 2
    block = [l.rstrip() for l in block]
    region = [l.rstrip() for l in region]
    if block == region:
        print("check-readme: the README's example is the %d lines of %s's region"
              % (len(region), sys.argv[2]))
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        [l + "\n" for l in block], [l + "\n" for l in region],
        sys.argv[1] + " (embedding example)", sys.argv[2] + " (README region)"))
    print("check-readme: the README's embedding example differs from %s" % sys.argv[2])
    return 1


if __name__ == "__main__":
    sys.exit(main())
