#!/usr/bin/env python3
"""The markdown table of a quadruped `tanglelab eval --json` file (training/quadruped-seed1/README.md).

    python3 scripts/eval_table.py training/quadruped-seed1/eval/eval-100x10s.json
"""
import json
import sys


def num(x, digits=2):
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def command(c):
    return ", ".join("0" if v == 0 else num(v, 1) if abs(v) >= 0.5 else num(v, 2) for v in c)


def rel_error(c, v, rel):
    parts = []
    for k, name in enumerate("uvr"):
        if c[k] == 0 or rel[k] is None:
            continue
        # (measured − commanded) / |commanded|; for a negative command, whether that is faster.
        signed = (v[k] - c[k]) / abs(c[k])
        note = ""
        if c[k] < 0:
            note = " (faster)" if signed < 0 else " (slower)"
        s = f"{name} {'+' if signed >= 0 else '−'}{abs(signed) * 100:.{0 if name == 'r' else 1}f} %{note}"
        parts.append(s)
    return ", ".join(parts)


def main(path):
    d = json.load(open(path))
    print("| command (u*, v*, r*) | mean u, v, r | relative error | fell | cycle Hz | diagonal / lateral / front–hind agreement |")
    print("|---|---|---|---:|---:|---|")
    for c in d["conditions"]:
        cmd, v = c["commanded"], c["mean_velocity"]
        fell = round(c["fell_fraction"] * 100)
        pairs = c["foot_pairs"]
        print(
            f"| {command(cmd)} | {', '.join(num(x) for x in v)} | {rel_error(cmd, v, c['velocity_rel_error'])} | {fell}/100 | "
            f"{num(c['cycle_hz'])} | {num(pairs['diagonal'])} / {num(pairs['lateral'])} / {num(pairs['front_hind'])} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
