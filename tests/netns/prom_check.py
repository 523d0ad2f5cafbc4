#!/usr/bin/python3
"""A strict check of Prometheus' text exposition format (version 0.0.4) as
node_exporter's textfile collector reads it, and of what `redundctl ...
status --prom` promises against the daemon's own `status --json`:

 - every line is a HELP, a TYPE or a sample; no blank line, no other comment;
 - metric and label names are valid ([a-zA-Z_:][a-zA-Z0-9_:]*, labels
   without ':' and not starting with '__'); label values escaped (only
   \\\\, \\" and \\n); values parse as floats;
 - each family has one HELP and one TYPE (gauge or counter), both before
   its samples, and its samples are contiguous; a counter's name ends in
   _total; no series appears twice;
 - with JSON (read just after the text): every counter of the JSON (a
   member of a counter group, an object outside arrays whose numbers are
   all whole) has exactly one sample, at most the JSON's value (counters
   only grow), no counter sample is missing from the JSON, and each
   vhost's state is a gauge sample of the JSON's state.

Usage: prom_check.py PROM_FILE [JSON_FILE PREFIX]. Exit 0, or 1 naming the
first problem."""
import json
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def die(msg):
    print("prom_check: " + msg, file=sys.stderr)
    sys.exit(1)


def parse_labels(text, lineno):
    """'{a="b",c="d"}' -> (('a','b'),('c','d')), strictly."""
    out, i = [], 1
    if text == "{}":
        die(f"line {lineno}: empty label set")
    while True:
        m = re.compile(r"([^=]+)=\"").match(text, i)
        if not m:
            die(f"line {lineno}: bad label syntax in {text}")
        name = m.group(1)
        if not LABEL.match(name) or name.startswith("__"):
            die(f"line {lineno}: bad label name {name!r}")
        i = m.end()
        val = []
        while True:
            if i >= len(text):
                die(f"line {lineno}: unterminated label value")
            c = text[i]
            if c == "\\":
                nxt = text[i + 1: i + 2]
                if nxt not in ("\\", '"', "n"):
                    die(f"line {lineno}: bad escape \\{nxt}")
                val.append({"n": "\n"}.get(nxt, nxt))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                die(f"line {lineno}: raw newline in a label value")
            else:
                val.append(c)
                i += 1
        if name in [n for n, _ in out]:
            die(f"line {lineno}: label {name} twice")
        out.append((name, "".join(val)))
        if text[i] == ",":
            i += 1
            continue
        if text[i] == "}" and i == len(text) - 1:
            return tuple(out)
        die(f"line {lineno}: bad label syntax after {name}")


def check_text(text):
    if not text.endswith("\n"):
        die("the last line has no line end")
    fam = {}  # name -> {"help", "type", "done"}
    cur = None
    series = {}
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind, rest = line[2:6], line[7:]
            name, _, arg = rest.partition(" ")
            if not NAME.match(name):
                die(f"line {lineno}: bad metric name {name!r}")
            f = fam.setdefault(name, {"help": None, "type": None, "samples": 0})
            if f["samples"]:
                die(f"line {lineno}: {kind} of {name} after its samples")
            if f[kind.lower()] is not None:
                die(f"line {lineno}: second {kind} of {name}")
            if kind == "TYPE" and arg not in ("gauge", "counter"):
                die(f"line {lineno}: type {arg!r}")
            if kind == "HELP" and re.search(r"\\[^\\n]", arg):
                die(f"line {lineno}: bad escape in HELP")
            f[kind.lower()] = arg
            if cur is not None and cur != name:
                fam[cur]["done"] = True
            cur = name
            continue
        if line.startswith("#") or line == "":
            die(f"line {lineno}: not a HELP, TYPE or sample: {line!r}")
        m = SAMPLE.match(line)
        if not m:
            die(f"line {lineno}: bad sample {line!r}")
        name, labels, value = m.group(1), m.group(2), m.group(3)
        f = fam.get(name)
        if f is None or f["help"] is None or f["type"] is None:
            die(f"line {lineno}: sample of {name} before its HELP and TYPE")
        if f.get("done"):
            die(f"line {lineno}: samples of {name} not together")
        if cur != name:
            die(f"line {lineno}: sample of {name} under the family {cur}")
        if f["type"] == "counter" and not name.endswith("_total"):
            die(f"line {lineno}: counter {name} without _total")
        try:
            float(value)
        except ValueError:
            die(f"line {lineno}: value {value!r}")
        key = (name, parse_labels(labels, lineno) if labels else ())
        if key in series:
            die(f"line {lineno}: series {key} twice")
        series[key] = float(value)
        f["samples"] += 1
    for name, f in fam.items():
        if not f["samples"]:
            die(f"family {name} without samples")
    return fam, series


def json_counters(v, path, labels, element, out, names):
    """(name, labels) -> value of every counter, by the rules of rctl_prom."""
    if isinstance(v, dict):
        nums = [x for x in v.values() if x is not None and not isinstance(x, str)]
        group = (not element and nums and
                 all(isinstance(x, int) and not isinstance(x, bool) for x in nums))
        labels = dict(labels)
        if element:
            for k, x in v.items():
                if isinstance(x, str) and k not in ("state", "link", "mode"):
                    labels[names if k == "name" else k] = x
                if k == "vhid":
                    labels[k] = str(x)
        for k, x in v.items():
            if isinstance(x, dict):
                json_counters(x, path if k == "counters" else path + "_" + k, labels,
                              False, out, None)
            elif isinstance(x, list):
                one = k[:-1] if len(k) > 1 and k.endswith("s") else k
                for e in x:
                    if isinstance(e, dict):
                        json_counters(e, path.split("_")[0] + "_" + one, labels, True,
                                      out, one)
            elif group and isinstance(x, int):
                out[(path + "_" + k + "_total", tuple(sorted(labels.items())))] = x


def main():
    text = open(sys.argv[1]).read()
    fam, series = check_text(text)
    if len(sys.argv) > 2:
        doc = json.load(open(sys.argv[2]))
        prefix = sys.argv[3]
        want = {}
        json_counters(doc, prefix, {}, False, want, None)
        if not want:
            die("no counter in the JSON")
        got = {(n, tuple(sorted(l))): v for (n, l), v in series.items()
               if fam[n]["type"] == "counter"}
        for key, val in want.items():
            if key not in got:
                die(f"counter {key} of the JSON has no sample")
            # The JSON is read after the text: a counter can only have grown.
            if not 0 <= got[key] <= val:
                die(f"counter {key}: JSON {val}, sample {got[key]}")
        extra = set(got) - set(want)
        if extra:
            die(f"counters not in the JSON: {sorted(extra)[:3]}")
        for itf in doc.get("interfaces", []):
            for vh in itf.get("vhosts", []):
                key = (prefix + "_vhost_state",
                       tuple(sorted({"interface": vh["interface"],
                                     "vhid": str(vh["vhid"])}.items())))
                st = {"INIT": 0, "BACKUP": 1, "MASTER": 2}[vh["state"]]
                got_st = {(n, tuple(sorted(l))): v for (n, l), v in series.items()}.get(key)
                if got_st != st:
                    die(f"vhost {key}: state gauge {got_st}, JSON {vh['state']}")
        print(f"prom_check: {len(fam)} families, {len(series)} samples, "
              f"{len(want)} counters match the JSON")
    else:
        print(f"prom_check: {len(fam)} families, {len(series)} samples")


main()
