#!/usr/bin/python3
"""Reads the result of fw_stream.py: a timeline, a drawing, and checks.

  fw_report.py timeline RUN.json           events, address moves, phases
  fw_report.py svg -o OUT.svg RUN.json...  the drawing (SVG, no dependency), runs stacked
  fw_report.py numbers RUN.json            one JSON line per phase
  fw_report.py check RUN.json KIND [...]   one assertion: prints ok/FAIL, exit 1 on FAIL

A time reference REF is an event label (the first event with that label),
"start", "ready", "end", "netlink:FW:TEXT" (the first change fw_stream.py saw
in FW, e.g. "netlink:F1:link wan down"), or one of those followed by
+SECONDS or -SECONDS.
Holding an address means carrying it on an interface that is up with
carrier. A "move" of an address is a firewall gaining it (a moment with
both holders in between is part of one move).
"""
import argparse
import json
import re
import sys

COLORS = {"F1": "#1f77b4", "F2": "#ff7f0e"}
BOTH = "#9467bd"
NONE = "#bbbbbb"


class Run:
    def __init__(self, path):
        with open(path) as f:
            self.d = json.load(f)
        d = self.d
        self.t0 = d["t0"]
        self.t_end = d["t_end"]
        self.events = sorted(d["events"])
        self.vips = d["vips"]
        self.fws = d["firewalls"]
        self.streams = d["streams"]

    def at(self, ref):
        m = re.fullmatch(r"(.*?)([+-][0-9.]+)?", ref)
        name, off = m.group(1), float(m.group(2) or 0)
        if name.startswith("netlink:"):  # netlink:FW:TEXT, e.g. netlink:F1:link wan down
            _, fw, text = name.split(":", 2)
            ts = [r[0] for r in self.d["netlink"] if r[1] == fw and r[2] == text]
            if not ts:
                raise SystemExit(f"no netlink record {text!r} of {fw}")
            return ts[0] + off
        if name == "start":
            t = self.t0
        elif name == "ready":
            t = self.d["t_ready"]
        elif name == "end":
            t = self.t_end
        else:
            ts = [e[0] for e in self.events if e[1] == name]
            if not ts:
                raise SystemExit(f"no event {name!r} (events: {[e[1] for e in self.events]})")
            t = ts[0]
        return t + off

    def rel(self, t):
        return t - self.t0

    def holders_at(self, vip, t):
        h = []
        for ts, who in self.d["holders"][vip]:
            if ts > t:
                break
            h = who
        return h

    def gains(self, vip, a, b):
        """[(time, firewall)] of each firewall gaining vip in (a, b]."""
        out = []
        prev = self.holders_at(vip, a)
        for ts, who in self.d["holders"][vip]:
            if a < ts <= b:
                for f in who:
                    if f not in prev:
                        out.append((ts, f))
                prev = who
        return out

    def losses(self, vip, a, b):
        out = []
        prev = self.holders_at(vip, a)
        for ts, who in self.d["holders"][vip]:
            if a < ts <= b:
                for f in prev:
                    if f not in who:
                        out.append((ts, f))
                prev = who
        return out

    def ct_at(self, t):
        row = None
        for r in self.d["ct"]:
            if r[0] > t:
                break
            row = r
        return dict(zip(self.fws, row[1:])) if row else {}

    def next_event(self, t):
        """The time of the first event after t, or the end."""
        return next((e for e, _ in self.events if e > t), self.t_end)

    def sole_from(self, vip, t, fw, until):
        """The first time in [t, until] from which vip is held by fw alone up to until, or None."""
        cand = t if self.holders_at(vip, t) == [fw] else None
        for ts, who in self.d["holders"][vip]:
            if ts <= t:
                continue
            if ts > until:
                break
            if who == [fw]:
                if cand is None:
                    cand = ts
            else:
                cand = None
        return cand

    def stalls(self, a, b, starting=False, net=False):
        """Per stream, the longest gap overlapping [a, b], or with starting, beginning in
        [a, b) (0 when none above 3 periods). With net, each gap less the time the
        measuring process itself was not running inside it (a busy machine delays
        every stream's next read by that much, whatever the firewalls do)."""
        out = []
        for s in self.streams:
            m = 0.0
            for st, dur in s["stalls"]:
                if (a <= st < b) if starting else (st < b and st + dur > a):
                    if net:
                        dur -= sum(max(0.0, min(st + dur, t + d) - max(st, t))
                                   for t, d in self.self_stalls(st, st + dur))
                    m = max(m, dur)
            out.append(m)
        return out

    def self_stalls(self, a, b):
        """The moments the measuring process itself did not run, overlapping [a, b]."""
        return [(t, d) for t, d in self.d.get("self_stalls", []) if t < b and t + d > a]

    def died(self, a, b):
        return [s for s in self.streams if s["dead_at"] is not None and a <= s["dead_at"] < b]

    def masters(self, vhid, t):
        st = {}
        for ts, fw, vh, state, _ in self.d["carp"]:
            if ts > t:
                break
            if vh is None:
                for k in [k for k in st if k[0] == fw]:
                    st[k] = "DOWN"
            elif vh == vhid:
                st[(fw, vh)] = state
        return sorted(k[0] for k, v in st.items() if v == "MASTER")

    def bulk_end(self, fw, a, b):
        """When fw's syncd reported its bulk done in (a, b]: the first bulk_pending false
        after a true, or None."""
        seen = False
        for ts, f, states, pending, _ in self.d["syncd"]:
            if f != fw or ts <= a or ts > b:
                continue
            if pending:
                seen = True
            elif seen or pending is False:
                return ts if seen else None
        return None

    def phases(self):
        """Windows between consecutive events (the first from 'ready')."""
        marks = [(self.d["t_ready"], "streams running")] + [(t, l) for t, l in self.events]
        out = []
        for i, (t, label) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else self.t_end
            out.append((label, t, end))
        return out

    def phase_numbers(self, label, a, b):
        stalls = self.stalls(a, b, starting=True)
        alive = [x for s, x in zip(self.streams, stalls) if s["dead_at"] is None or s["dead_at"] >= a]
        moves = {v: len(self.gains(v, a, b)) for v in self.vips}
        take = {}
        for v in self.vips:
            g = self.gains(v, a, b)
            if g:
                ts, f = g[-1]
                take[v] = {"to": f, "after_s": round(ts - a, 3),
                           "states": self.ct_at(ts).get(f),
                           "peer_states": {k: c for k, c in self.ct_at(ts).items() if k != f}}
        return {"phase": label, "at_s": round(self.rel(a), 3), "length_s": round(b - a, 3),
                "longest_stall_ms": round(max(alive, default=0) * 1000, 1),
                "median_stall_ms": round(sorted(alive)[len(alive) // 2] * 1000, 1) if alive else 0,
                "died": len(self.died(a, b)), "moves": moves, "takeover": take,
                "self_stall_ms": round(max((d for _, d in self.self_stalls(a, b)), default=0) * 1000, 1)}


def fmt_holders(h):
    return "+".join(h) if h else "nobody"


def cmd_timeline(run, a):
    print(f"time (s)  what  [t=0: {run.d['streams_n']} streams start]")
    rows = []
    for t, l in run.events:
        rows.append((t, f"== {l}"))
    for v, addr in run.vips.items():
        prev = None
        for ts, who in run.d["holders"][v]:
            if prev is not None:
                ct = run.ct_at(ts)
                states = ", ".join(f"{f} {ct.get(f)}" for f in who) or "-"
                rows.append((ts, f"   {v.upper()} {addr}: {fmt_holders(prev)} -> "
                             f"{fmt_holders(who)}   (states held: {states})"))
            prev = who
    for s in run.streams:
        if s["dead_at"] is not None:
            rows.append((s["dead_at"], f"   stream {s['id']} died ({s['dead_reason']})"))
    rows.sort()
    last_dead = None
    for t, text in rows:
        if "died (" in text:
            key = text.split("died")[1]
            if last_dead and last_dead[1] == key and t - last_dead[0] < 1:
                last_dead[2] += 1
                continue
            if last_dead and last_dead[2] > 0:
                print(f"           ... and {last_dead[2]} more streams")
            last_dead = [t, key, 0]
        elif last_dead and last_dead[2] > 0:
            print(f"           ... and {last_dead[2]} more streams")
            last_dead = None
        print(f"{run.rel(t):8.3f}  {text}")
    if last_dead and last_dead[2] > 0:
        print(f"           ... and {last_dead[2]} more streams")
    print()
    print("phase                              longest stall  median   died  moves (lan/wan)  "
          "takeover: after, states held (peer's)")
    for label, t, end in run.phases():
        n = run.phase_numbers(label, t, end)
        take = "; ".join(f"{v} to {x['to']} {x['after_s'] * 1000:.0f} ms, {x['states']} "
                         f"({', '.join(str(c) for c in x['peer_states'].values())})"
                         for v, x in n["takeover"].items())
        mv = "/".join(str(n["moves"][v]) for v in run.vips)
        print(f"{label[:34]:34} {n['longest_stall_ms']:10.0f} ms {n['median_stall_ms']:5.0f} ms"
              f" {n['died']:5}  {mv:>15}  {take}")
        if a.per_stream and label != "streams running":
            st = run.stalls(t, end, starting=True)
            cells = []
            for s, v in zip(run.streams, st):
                died = s["dead_at"] is not None and t <= s["dead_at"] < end
                gone = s["dead_at"] is not None and s["dead_at"] < t
                cells.append("   ." if gone else "died" if died else f"{v * 1000:4.0f}")
            print("    longest stall per stream (ms; '0' = under 30 ms):")
            for i in range(0, len(cells), 16):
                print("     " + " ".join(cells[i:i + 16]))
    ss = run.self_stalls(run.d["t_ready"], run.t_end)
    if ss:
        t, dur = max(ss, key=lambda x: x[1])
        print(f"(the measuring process itself was not scheduled {len(ss)} times for more than 50 ms, "
              f"longest {dur * 1000:.0f} ms at {run.rel(t):.3f} s: a busy machine; every stream "
              f"shows such a gap too)")
    return 0


def cmd_numbers(run, a):
    for label, t, end in run.phases():
        print(json.dumps(run.phase_numbers(label, t, end)))
    return 0


# ---------------------------------------------------------------------------
# The drawing


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


W, L, R = 1280, 150, 48


def draw(run, y0):
    """The SVG elements of one run, drawn from y0 down; returns (elements, height)."""
    d = run.d
    t_end = run.rel(run.t_end)
    pw = W - L - R
    x = lambda t: L + pw * max(0.0, min(t, t_end)) / t_end  # noqa: E731
    title = d.get("title") or "two firewalls acting as one"
    out = [f'<text x="{L}" y="{y0 + 20}" class="l" font-weight="bold">{esc(title)}</text>']
    y = y0 + 58
    top = y
    n = len(run.streams)
    bw = d["bin"]
    bins_n = int(t_end / bw) + 1
    nominal = d["chunk"] / d["period"] * bw  # bytes per bin at the steady rate

    # 1. Total throughput.
    h_tot = 110
    total = [0] * bins_n
    for s in run.streams:
        for i, v in enumerate(s["bins"][:bins_n]):
            total[i] += v
    peak = max(max(total, default=1), nominal * n * 1.2)
    out.append(f'<text x="{L - 8}" y="{y + 14}" text-anchor="end" class="l">all streams</text>')
    out.append(f'<text x="{L - 8}" y="{y + 28}" text-anchor="end" class="s">MB/s</text>')
    for frac in (0, 0.5, 1):
        yy = y + h_tot - h_tot * frac
        out.append(f'<line x1="{L}" x2="{L + pw}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>')
        out.append(f'<text x="{L + pw + 2}" y="{yy + 3:.1f}" class="s">'
                   f'{peak * frac / bw / 1e6:.1f}</text>')
    pts = " ".join(f"{x(i * bw):.1f},{y + h_tot - h_tot * v / peak:.1f}" for i, v in enumerate(total))
    out.append(f'<polyline points="{pts}" fill="none" stroke="#2ca02c" stroke-width="1.2"/>')
    y += h_tot + 12

    # 2. Each stream: a row, its colour the throughput of each bin.
    rh = max(2, min(6, 300 // max(n, 1)))
    out.append(f'<text x="{L - 8}" y="{y + 12}" text-anchor="end" class="l">each stream</text>')
    out.append(f'<text x="{L - 8}" y="{y + 26}" text-anchor="end" class="s">(row = stream,</text>')
    out.append(f'<text x="{L - 8}" y="{y + 38}" text-anchor="end" class="s">white = stalled,</text>')
    out.append(f'<text x="{L - 8}" y="{y + 50}" text-anchor="end" class="s">red = died)</text>')
    t_ready = run.rel(d["t_ready"])

    def shade(v):
        q = min(4, int(round(4 * v / nominal))) if nominal else 0
        return ["#ffffff", "#c7e9c0", "#74c476", "#31a354", "#006d2c"][q]

    for r, s in enumerate(run.streams):
        yy = y + r * rh
        dead = run.rel(s["dead_at"]) if s["dead_at"] is not None else None
        runs = []
        for i in range(bins_n):
            t = i * bw
            if t < t_ready - bw:
                continue
            c = "#d62728" if dead is not None and t >= dead else shade(s["bins"][i] if i < len(s["bins"]) else 0)
            if runs and runs[-1][2] == c:
                runs[-1][1] = t + bw
            else:
                runs.append([t, t + bw, c])
        for t1, t2, c in runs:
            out.append(f'<rect x="{x(t1):.1f}" y="{yy}" width="{max(0.5, x(t2) - x(t1)):.1f}" '
                       f'height="{rh}" fill="{c}"/>')
    y += n * rh + 14

    # 3. Who holds each virtual address.
    for v, addr in run.vips.items():
        out.append(f'<text x="{L - 8}" y="{y + 13}" text-anchor="end" class="l">'
                   f'{esc(v.upper())} {addr}</text>')
        hs = d["holders"][v]
        for i, (ts, who) in enumerate(hs):
            t1 = run.rel(ts)
            t2 = run.rel(hs[i + 1][0]) if i + 1 < len(hs) else t_end
            c = COLORS.get(who[0], "#888") if len(who) == 1 else (BOTH if who else NONE)
            out.append(f'<rect x="{x(t1):.1f}" y="{y}" width="{max(0.8, x(t2) - x(t1)):.1f}" '
                       f'height="18" fill="{c}"/>')
            if x(t2) - x(t1) > 40 and who:
                out.append(f'<text x="{(x(t1) + x(t2)) / 2:.1f}" y="{y + 13}" text-anchor="middle" '
                           f'class="w">{fmt_holders(who)}</text>')
        y += 24

    # 4. carpd's view: MASTER per firewall and vhost.
    vhids = sorted({r[2] for r in d["carp"] if r[2] is not None})
    for fw in run.fws:
        for vh in vhids:
            rows = []
            cur = None
            for ts, f, h, state, dem in d["carp"]:
                if f != fw or (h is not None and h != vh):
                    continue
                cur = state if h is not None else "DOWN"
                rows.append((run.rel(ts), cur, dem))
            if not rows:
                continue
            out.append(f'<text x="{L - 8}" y="{y + 9}" text-anchor="end" class="s">'
                       f'{fw} carpd vhid {vh}</text>')
            for i, (t1, st, dem) in enumerate(rows):
                t2 = rows[i + 1][0] if i + 1 < len(rows) else t_end
                c = {"MASTER": COLORS.get(fw, "#444"), "BACKUP": "#e8e8e8"}.get(st, "#ffffff")
                out.append(f'<rect x="{x(t1):.1f}" y="{y}" width="{max(0.5, x(t2) - x(t1)):.1f}" '
                           f'height="10" fill="{c}" stroke="#ccc" stroke-width="0.3"/>')
                if dem and x(t2) - x(t1) > 40:
                    cls = "t" if st == "MASTER" else "td"
                    out.append(f'<text x="{x(t1) + 2:.1f}" y="{y + 8}" class="{cls}">demoted {dem}</text>')
            y += 13
    y += 8

    # 5. conntrack entries on each firewall.
    h_ct = 80
    cmax = max((max(r[1:]) for r in d["ct"]), default=1) or 1
    out.append(f'<text x="{L - 8}" y="{y + 14}" text-anchor="end" class="l">conntrack entries</text>')
    for frac in (0, 0.5, 1):
        yy = y + h_ct - h_ct * frac
        out.append(f'<line x1="{L}" x2="{L + pw}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>')
        out.append(f'<text x="{L + pw + 2}" y="{yy + 3:.1f}" class="s">{cmax * frac:.0f}</text>')
    for k, fw in enumerate(run.fws):
        pts = []
        for r in d["ct"]:
            c = max(r[1 + k], 0)
            if pts:
                pts.append(f"{x(run.rel(r[0])):.1f},{pts[-1].split(',')[1]}")
            pts.append(f"{x(run.rel(r[0])):.1f},{y + h_ct - h_ct * c / cmax:.1f}")
        pts.append(f"{x(t_end):.1f},{pts[-1].split(',')[1]}" if pts else "")
        out.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{COLORS.get(fw, "#444")}" '
                   f'stroke-width="1.5"/>')
    y += h_ct + 10

    # Time axis and events.
    bottom = y
    step = 1 if t_end <= 15 else 5 if t_end <= 80 else 10 if t_end <= 200 else 30
    t = 0
    while t <= t_end:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#444"/>')
        out.append(f'<text x="{x(t):.1f}" y="{bottom + 15}" text-anchor="middle" class="s">{t}</text>')
        t += step
    out.append(f'<text x="{L + pw / 2}" y="{bottom + 29}" text-anchor="middle" class="s">seconds</text>')
    label_y = [top - 4, top - 16]
    for k, (ts, label) in enumerate(run.events):
        xx = x(run.rel(ts))
        out.append(f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top - 12 + (k % 2) * 0}" y2="{bottom}" '
                   f'stroke="#000" stroke-dasharray="3,3" stroke-width="0.8"/>')
        out.append(f'<text x="{xx + 2:.1f}" y="{label_y[k % 2]}" class="e">{esc(label)}</text>')
    # Legend.
    ly = bottom + 44
    lx = L
    for name, c in [("F1", COLORS["F1"]), ("F2", COLORS["F2"]), ("both", BOTH), ("nobody", NONE)]:
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{c}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}" class="s">{name}</text>')
        lx += 80
    out.append(f'<text x="{lx}" y="{ly}" class="s">carpd rows: coloured = MASTER, grey = BACKUP, '
               f'white = down or INIT</text>')
    ly += 14
    lx = L
    died = sum(1 for s in run.streams if s["dead_at"] is not None)
    longest = max((s["max_stall"] for s in run.streams), default=0)
    out.append(f'<text x="{lx + 20}" y="{ly}" class="s">{n} TCP streams, {d["chunk"]} bytes every '
               f'{d["period"] * 1000:.0f} ms each; {died} died; longest stall {longest * 1000:.0f} ms'
               f'</text>')
    return out, ly + 14 - y0


def cmd_svg(runs, a):
    """One drawing of one or more runs, one above the other."""
    body = []
    y = 0
    for run in runs:
        out, h = draw(run, y)
        body += out
        y += h + 20
    H = y
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
            f'viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Arial, sans-serif">',
            '<style>.l{font-size:12px;fill:#222}.s{font-size:10px;fill:#444}'
            '.e{font-size:10px;fill:#000}.w{font-size:10px;fill:#fff}.t{font-size:8px;fill:#fff}'
            '.td{font-size:8px;fill:#333}.grid{stroke:#ddd;stroke-width:0.6}</style>',
            f'<rect width="{W}" height="{H}" fill="#fff"/>']
    with open(a.out, "w") as f:
        f.write("\n".join(head + body + ["</svg>"]) + "\n")
    return 0


# ---------------------------------------------------------------------------
# Checks: each prints "ok: ..." or "FAIL: ..." and the evidence.


def report(good, text):
    print(("ok: " if good else "FAIL: ") + text)
    return 0 if good else 1


def chk_survive(run, a):
    """No stream died before --until (default: the end), and every stream carried
    data in the second before it (no recorded gap covers that second)."""
    until = run.at(a.until) if a.until else run.t_end
    dead = [s for s in run.streams if s["dead_at"] is not None and s["dead_at"] < until]
    silent = [s for s in run.streams if s not in dead and
              any(st <= until - 1.0 and st + dur >= until for st, dur in s["stalls"])]
    detail = "; ".join([f"stream {s['id']} died at {run.rel(s['dead_at']):.3f} s ({s['dead_reason']})"
                        for s in dead[:5]] +
                       [f"stream {s['id']} silent at {run.rel(until):.3f} s" for s in silent[:5]])
    return report(not dead and not silent,
                  f"every stream survives: {len(run.streams) - len(dead) - len(silent)} of "
                  f"{len(run.streams)} alive and carrying data at {a.until or 'the end'}"
                  + (f" [{detail}]" if detail else ""))


def chk_die(run, a):
    dead = [s for s in run.streams if s["dead_at"] is not None and s["dead_at"] >= run.at(a.after)]
    reasons = sorted({s["dead_reason"] for s in dead})
    return report(len(dead) == len(run.streams),
                  f"every stream dies after {a.after}: {len(dead)} of {len(run.streams)} died "
                  f"({', '.join(reasons)})")


def chk_stall(run, a):
    t1, t2 = run.at(a.frm), run.at(a.to)
    st = run.stalls(t1, t2, net=True)
    raw = run.stalls(t1, t2)
    worst = max(range(len(st)), key=lambda i: st[i]) if st else 0
    ss = run.self_stalls(t1, t2)
    note = (f"; the measuring process itself was not scheduled for up to "
            f"{max(d for _, d in ss) * 1000:.0f} ms in that time, not counted: longest "
            f"gap as seen {max(raw, default=0) * 1000:.1f} ms" if ss else "")
    return report(max(st, default=0) < a.max,
                  f"longest stall between {a.frm} and {a.to}: {max(st, default=0) * 1000:.1f} ms "
                  f"(stream {worst}; limit {a.max * 1000:.0f} ms; gaps under "
                  f"{3 * run.d['period'] * 1000:.0f} ms not recorded{note})")


def chk_takeover(run, a):
    t = run.at(a.frm)
    until = run.at(a.to) if a.to else run.next_event(t)
    bad = []
    parts = []
    for v in run.vips:
        s = run.sole_from(v, t, a.fw, until)
        if s is None:
            bad.append(v)
            parts.append(f"{v}: never held by {a.fw} alone (holders {run.d['holders'][v][-3:]})")
        else:
            parts.append(f"{v} {(s - t) * 1000:.0f} ms")
            if s - t > a.within:
                bad.append(v)
    return report(not bad, f"{a.fw} alone holds every address within {a.within:.3f} s of "
                  f"{a.frm} (and until the next event): {', '.join(parts)}")


def chk_moves(run, a):
    t1, t2 = run.at(a.frm), run.at(a.to)
    good = True
    parts = []
    for v in run.vips:
        g = run.gains(v, t1, t2)
        mine = [ts for ts, f in g if f == a.fw]
        other = [(ts, f) for ts, f in g if f != a.fw]
        lost = [ts for ts, f in run.losses(v, t1, t2) if f == a.fw]
        end = run.holders_at(v, t2)
        ok = len(mine) == a.exactly and not other and not lost and end == [a.fw]
        good &= ok
        seq = " ".join(f"{run.rel(ts):.3f}:{fmt_holders(w)}" for ts, w in run.d["holders"][v]
                       if t1 < ts <= t2)
        parts.append(f"{v}: gained by {a.fw} {len(mine)}x, by others {len(other)}x, "
                     f"lost by {a.fw} {len(lost)}x [{seq or 'no change'}]")
    return report(good, f"each address moves to {a.fw} exactly {a.exactly}x between {a.frm} "
                  f"and {a.to}, and nowhere else: " + "; ".join(parts))


def chk_nomoves(run, a):
    t1, t2 = run.at(a.frm), run.at(a.to)
    ch = {v: [(run.rel(ts), w) for ts, w in run.d["holders"][v] if t1 < ts <= t2] for v in run.vips}
    return report(not any(ch.values()), f"no address moves between {a.frm} and {a.to}: "
                  + "; ".join(f"{v}: {len(c)} changes {c[:4]}" for v, c in ch.items()))


def chk_states(run, a):
    t1, t2 = run.at(a.frm), run.at(a.to)
    good = True
    parts = []
    bulk = run.bulk_end(a.fw, t1, t2)
    for v in run.vips:
        g = [ts for ts, f in run.gains(v, t1, t2) if f == a.fw]
        if not g:
            good = False
            parts.append(f"{v}: not taken")
            continue
        ts = g[0]
        ct = run.ct_at(ts)
        mine = ct.get(a.fw, -1)
        peer = max((c for f, c in ct.items() if f != a.fw), default=0)
        ok = mine >= a.min and mine >= a.ratio * peer
        good &= ok
        parts.append(f"{v} taken at {run.rel(ts):.3f} s holding {mine} states (peer {peer})")
    parts.append(f"syncd bulk done at {run.rel(bulk):.3f} s" if bulk else "syncd bulk end not seen")
    return report(good, f"{a.fw} holds at least {a.min} states and {a.ratio:.0%} of its peer's "
                  f"when it takes each address: " + "; ".join(parts))


def chk_bulk(run, a):
    """fw's syncd had a bulk update running at REF: its last answer before REF said so
    (a poll it did not answer in time says nothing either way)."""
    t = run.at(a.at)
    rec = None
    for r in run.d["syncd"]:
        if r[0] > t:
            break
        if r[1] == a.fw and r[3] is not None:
            rec = r
    after = next((r for r in run.d["syncd"] if r[0] > t and r[1] == a.fw and r[3] is False), None)
    ok = rec is not None and rec[3] is True
    return report(ok, f"{a.fw}'s syncd runs its bulk update at {a.at}: "
                  + (f"bulk_pending {rec[3]} ({rec[2]} states) reported at {run.rel(rec[0]):.3f} s"
                     if rec else "no report before")
                  + (f", done at {run.rel(after[0]):.3f} s" if after else ""))


def chk_masters(run, a):
    t = run.at(a.frm)
    t2 = run.at(a.to)
    # The first time after t from which exactly one MASTER remains until t2.
    times = sorted({t} | {r[0] for r in run.d["carp"] if t < r[0] <= t2})
    since = None
    for ts in times:
        one = len(run.masters(a.vhid, ts)) == 1
        if one and since is None:
            since = ts
        elif not one:
            since = None
    who = run.masters(a.vhid, t2)
    ok = since is not None and since - t <= a.within
    return report(ok, f"one MASTER of vhid {a.vhid} within {a.within:.3f} s of {a.frm}: "
                  + (f"{who} from {(since - t) * 1000:.0f} ms" if since else
                     f"never one (at {a.to}: {who})"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("timeline")
    p.add_argument("run")
    p.add_argument("--per-stream", action="store_true", help="each stream's longest stall per phase")
    p = sub.add_parser("numbers")
    p.add_argument("run")
    p = sub.add_parser("svg", help="svg -o OUT.svg RUN.json [RUN.json...] (one above the other)")
    p.add_argument("-o", dest="out", required=True)
    p.add_argument("runs", nargs="+")
    p = sub.add_parser("check")
    p.add_argument("run")
    cs = p.add_subparsers(dest="kind", required=True)
    c = cs.add_parser("survive")
    c.add_argument("--until", help="default: the end")
    c = cs.add_parser("die")
    c.add_argument("--after", default="start")
    c = cs.add_parser("stall")
    c.add_argument("--from", dest="frm", required=True)
    c.add_argument("--to", default="end")
    c.add_argument("--max", type=float, required=True)
    c = cs.add_parser("takeover")
    c.add_argument("--from", dest="frm", required=True)
    c.add_argument("--to", help="default: the next event")
    c.add_argument("--fw", required=True)
    c.add_argument("--within", type=float, required=True)
    c = cs.add_parser("moves")
    c.add_argument("--from", dest="frm", required=True)
    c.add_argument("--to", default="end")
    c.add_argument("--fw", required=True)
    c.add_argument("--exactly", type=int, default=1)
    c = cs.add_parser("nomoves")
    c.add_argument("--from", dest="frm", required=True)
    c.add_argument("--to", default="end")
    c = cs.add_parser("states")
    c.add_argument("--from", dest="frm", required=True)
    c.add_argument("--to", default="end")
    c.add_argument("--fw", required=True)
    c.add_argument("--min", type=int, default=0)
    c.add_argument("--ratio", type=float, default=0.99)
    c = cs.add_parser("bulk")
    c.add_argument("--at", required=True)
    c.add_argument("--fw", required=True)
    c = cs.add_parser("masters")
    c.add_argument("--from", dest="frm", required=True)
    c.add_argument("--to", default="end")
    c.add_argument("--vhid", type=int, required=True)
    c.add_argument("--within", type=float, required=True)
    a = ap.parse_args()
    if a.cmd == "svg":
        return cmd_svg([Run(r) for r in a.runs], a)
    run = Run(a.run)
    if a.cmd == "check":
        return {"survive": chk_survive, "die": chk_die, "stall": chk_stall,
                "takeover": chk_takeover, "moves": chk_moves, "nomoves": chk_nomoves,
                "states": chk_states, "masters": chk_masters, "bulk": chk_bulk}[a.kind](run, a)
    return {"timeline": cmd_timeline, "numbers": cmd_numbers}[a.cmd](run, a)


if __name__ == "__main__":
    sys.exit(main())
