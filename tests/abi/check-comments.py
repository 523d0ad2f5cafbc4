#!/usr/bin/env python3
"""check-comments: comments in libredund's headers and sources name only
what exists.

Usage: check-comments.py --root REPO FILE|DIR...
(a DIR stands for every *.c and *.h under it, recursively)

Fails, naming file and line, when a comment
  - names an rd_/RD_ identifier (function, type, macro, enumerator, ...)
    that appears in the code of none of the files given; `rd_foo_*`,
    `RD_ERR_*` or `rd_<module>` name every identifier with that prefix and
    need one;
  - points at a file of the repository that is not there: a path whose first
    part is a directory of the repository (or redund/, research/, docs/),
    tried from REPO, REPO/libredund, REPO/libredund/include and the file's
    own directory; or any *.md, which must be a file of the repository.
    Paths of other systems (sys/socket.h, netinet/tcp_fsm.h) are not checked;
  - speaks of a "research note" without a path: a note the reader cannot
    open (a note in the repository is named by its path instead).
Exit 0 when all names resolve, 1 when one does not, 2 on a usage error.
"""
import argparse
import os
import re
import sys

IDENT_RE = re.compile(r"\b(?:rd|RD)_[A-Za-z0-9_]*")
PATH_RE = re.compile(
    r"(?<![A-Za-z0-9_./-])((?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.-]*[A-Za-z0-9_]"
    r"|[A-Za-z0-9_-]+\.md)\b")
FILE_EXT = (".md", ".c", ".h", ".txt", ".sh", ".py", ".build", ".8", ".conf",
            ".example", ".in")


def split(text):
    """(code, [(line, comment)]) with strings and char literals blanked in
    the code and each comment's text kept with its first line number."""
    code, comments = [], []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            comments.append((text.count("\n", 0, i) + 1, text[i:j]))
            code.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            comments.append((text.count("\n", 0, i) + 1, text[i:j]))
            code.append(" " * (j - i))
            i = j
        elif text[i] in "\"'":
            q, j = text[i], i + 1
            while j < n and text[j] != q and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            code.append(q + " " * (j - i - 1) + q)
            i = j + 1
        else:
            code.append(text[i])
            i += 1
    return "".join(code), comments


def sources(args):
    out = []
    for a in args:
        if os.path.isdir(a):
            for d, dirs, files in os.walk(a):
                dirs.sort()
                out += [os.path.join(d, f) for f in sorted(files)
                        if f.endswith((".c", ".h"))]
        else:
            out.append(a)
    return out


def repo_files(root):
    names, paths = set(), set()
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith((".", "build"))]
        for f in files:
            names.add(f)
            paths.add(os.path.relpath(os.path.join(d, f), root))
    return names, paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    files = sources(a.files)
    if not files:
        print("check-comments: no files", file=sys.stderr)
        return 2
    known, parsed = set(), []
    for p in files:
        with open(p, encoding="utf-8") as f:
            code, comments = split(f.read())
        known.update(IDENT_RE.findall(code))
        parsed.append((p, comments))
    names, _ = repo_files(root)
    roots = {"redund", "research", "docs", "doc"}
    roots.update(x for x in os.listdir(root)
                 if os.path.isdir(os.path.join(root, x)) and not x.startswith("."))
    lib = os.path.join(root, "libredund")
    if os.path.isdir(lib):
        roots.update(x for x in os.listdir(lib) if os.path.isdir(os.path.join(lib, x)))
    bad = checked = 0
    for p, comments in parsed:
        rel = os.path.relpath(p, root)
        for line, c in comments:
            for m in IDENT_RE.finditer(c):
                ident, after = m.group(0), c[m.end():m.end() + 1]
                checked += 1
                if ident.endswith("_") or after in ("*", "<", "{"):
                    ok = any(k.startswith(ident) for k in known)
                else:
                    ok = ident in known
                if not ok:
                    print("%s:%d: names %s, which does not exist"
                          % (rel, line + c.count("\n", 0, m.start()), ident))
                    bad += 1
            for m in re.finditer(r"research\s+notes?\b", c):
                checked += 1
                print("%s:%d: cites a research note that is not in the repository"
                      % (rel, line + c.count("\n", 0, m.start())))
                bad += 1
            for m in PATH_RE.finditer(c):
                path = m.group(1).rstrip(".")
                first = path.split("/")[0]
                if "/" in path:
                    if first not in roots or not path.endswith(FILE_EXT):
                        continue
                    bases = [root, lib, os.path.join(lib, "include"), os.path.dirname(p)]
                    ok = any(os.path.exists(os.path.join(b, path)) for b in bases)
                else:
                    ok = path in names
                checked += 1
                if not ok:
                    print("%s:%d: points at %s, which is not in the repository"
                          % (rel, line + c.count("\n", 0, m.start()), path))
                    bad += 1
    print("check-comments: %d files, %d names in comments, %d unresolved"
          % (len(files), checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
