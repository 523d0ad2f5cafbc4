#!/usr/bin/env python3
"""check-exports: libredund.so exports exactly the public API.

Usage: check-exports.py --lib build/libredund.so HEADER|DIR...
       check-exports.py --symbols FILE HEADER|DIR...   (names, one a line)
A DIR stands for every *.h in it (the source tree's include/redund and the
build tree's, where the generated redund/version.h is).

Compares the dynamic symbols libredund.so defines (`nm -D --defined-only`)
with the functions the public headers declare (public_api.py). Fails, and
names each one, on:
  - a symbol exported that no public header declares (an internal function
    that lost its hidden visibility, or a global variable);
  - a function a header declares that the library does not export (not
    marked RD_EXPORT, or not defined at all);
  - a header declaration without RD_EXPORT (it would be hidden).
Exit 0 when they agree, 1 when they differ, 2 on a usage or parse error.
"""
import argparse
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from public_api import ParseError, public_functions  # noqa: E402


def exported(lib, nm):
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    syms = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3:
            syms.add(f[2].split("@")[0])
    return syms


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--lib")
    g.add_argument("--symbols")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("headers", nargs="+")
    a = ap.parse_args()
    headers = []
    for h in a.headers:
        headers += sorted(glob.glob(os.path.join(h, "*.h"))) if os.path.isdir(h) else [h]
    try:
        funcs = public_functions(headers)
    except (OSError, ParseError) as e:
        print("check-exports: %s" % e, file=sys.stderr)
        return 2
    if a.lib:
        syms = exported(a.lib, a.nm)
    else:
        with open(a.symbols, encoding="utf-8") as f:
            syms = {s.strip() for s in f if s.strip()}
    if not funcs or not syms:
        print("check-exports: nothing to compare (%d declarations, %d symbols)"
              % (len(funcs), len(syms)), file=sys.stderr)
        return 2
    bad = 0
    for s in sorted(syms - set(funcs)):
        print("exported but in no public header: %s" % s)
        bad += 1
    for name in sorted(set(funcs) - syms):
        p, line, _ = funcs[name]
        print("declared at %s:%d but not exported: %s" % (p, line, name))
        bad += 1
    for name, (p, line, marked) in sorted(funcs.items()):
        if not marked:
            print("declared at %s:%d without RD_EXPORT: %s" % (p, line, name))
            bad += 1
    print("check-exports: %d exported symbols, %d public functions, %d problems"
          % (len(syms), len(funcs), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
