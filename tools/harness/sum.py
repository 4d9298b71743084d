#!/usr/bin/env python3
"""Totals of harness output files: found / injected / false per class (transposed, shifted,
dropped, extra), recall, and per piece with -p."""
import re, sys
from collections import defaultdict

per = "-p" in sys.argv
files = [f for f in sys.argv[1:] if f != "-p"]
tot = [[0] * 4 for _ in range(3)]
piece = defaultdict(lambda: [[0] * 4 for _ in range(3)])
pat = re.compile(r"HARNESS (\S+) seed \d+: found \[(.*?)\] of \[(.*?)\] false \[(.*?)\]")
for f in files:
    for line in open(f):
        m = pat.match(line)
        if not m:
            continue
        for k in range(3):
            v = [int(x) for x in m.group(k + 2).split(",")]
            for i in range(4):
                tot[k][i] += v[i]
                piece[m.group(1)][k][i] += v[i]
def show(name, t):
    rec = " / ".join(f"{f / n:.3f}" if n else "-" for f, n in zip(t[0], t[1]))
    print(f"{name}: found {t[0]} of {t[1]} false {t[2]}  recall {rec}")
if per:
    for name, t in sorted(piece.items()):
        show(name[:24], t)
show("total", tot)
