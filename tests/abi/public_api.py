#!/usr/bin/env python3
"""The functions libredund's public headers declare, parsed from the headers.

Used by check-exports.py (the ABI test) and by mark-exports (one-off), so it
is a module of its own.  The parser knows the shape of libredund's headers:
comments, preprocessor lines, the extern "C" guard, structs/enums/unions,
typedefs (function-pointer typedefs included) and static inline functions
(which are not exported and need no RD_EXPORT).  A declaration it cannot
understand is an error, not a silent skip.
"""
import re
import sys

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


class ParseError(Exception):
    pass


def strip_comments_and_cpp(text):
    """Blank out comments and preprocessor lines, keeping every offset."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ParseError("unterminated comment")
            out.append(re.sub(r"[^\n]", " ", text[i:j + 2]))
            i = j + 2
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    lines = "".join(out).split("\n")
    cont = False
    for k, line in enumerate(lines):
        if cont or line.lstrip().startswith("#"):
            cont = line.rstrip().endswith("\\")
            lines[k] = " " * len(line)
    return "\n".join(lines)


def declarations(text):
    """Yield (name, exported_mark, is_inline, offset) for each function
    declared or defined at file scope of a header's text; offset is where
    its declaration starts in `text`."""
    src = strip_comments_and_cpp(text)
    src = re.sub(r'extern\s+"C"\s*\{', lambda m: " " * len(m.group(0)), src)
    depth = 0
    stmt_start = 0
    head = None  # text before the '{' of a file-scope brace block
    for i, c in enumerate(src):
        if c == "{":
            if depth == 0:
                head = src[stmt_start:i]
            depth += 1
        elif c == "}":
            if depth == 0:
                stmt_start = i + 1  # the extern "C" guard's closing brace
            else:
                depth -= 1
                if depth == 0 and head is not None and "(" in head and \
                        not re.match(r"\s*typedef\b", head):
                    yield from _one(head, _start(src, stmt_start), True)
                    stmt_start = i + 1
                    head = None
        elif c == ";" and depth == 0:
            if head is None:
                yield from _one(src[stmt_start:i], _start(src, stmt_start), False)
            stmt_start = i + 1
            head = None
    if depth != 0:
        raise ParseError("unbalanced braces")


def _start(src, off):
    while off < len(src) and src[off].isspace():
        off += 1
    return off


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def _one(stmt, offset, definition):
    s = " ".join(stmt.split())
    if not s or "(" not in s:
        return
    if re.match(r"typedef\b", s):
        return  # a type (a function-pointer typedef included)
    m = re.match(r"(.*?)\b(" + IDENT + r")\s*\(", s)
    if not m or "(*" in s.split(m.group(2))[0].replace(" ", ""):
        raise ParseError("offset %d: cannot read declaration: %s" % (offset, s))
    prefix = m.group(1)
    words = re.findall(IDENT, prefix)
    if "static" in words:
        if not definition or "inline" not in words:
            raise ParseError("offset %d: static but not an inline definition: %s"
                             % (offset, s))
        yield (m.group(2), "RD_EXPORT" in words, True, offset)
        return
    if definition:
        raise ParseError("offset %d: non-static function defined in a header: %s"
                         % (offset, s))
    yield (m.group(2), "RD_EXPORT" in words, False, offset)


def public_functions(paths):
    """{name: (path, line, marked)} of every non-inline function declared in
    the headers; raises ParseError on something it cannot read."""
    funcs = {}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            text = f.read()
        try:
            for name, marked, inline, off in declarations(text):
                if inline:
                    continue
                line = line_of(text, off)
                if name in funcs and funcs[name][0] != p:
                    raise ParseError("%s declared in %s and %s"
                                     % (name, funcs[name][0], p))
                funcs[name] = (p, line, marked)
        except ParseError as e:
            raise ParseError("%s: %s" % (p, e)) from None
    return funcs


if __name__ == "__main__":
    for name, (p, line, marked) in sorted(public_functions(sys.argv[1:]).items()):
        print("%s %s:%d %s" % (name, p, line, "RD_EXPORT" if marked else "-"))
