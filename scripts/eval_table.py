#!/usr/bin/env python3
"""The markdown table of a quadruped `tanglelab eval --json` file (training/quadruped-seed1/README.md).

    python3 scripts/eval_table.py training/quadruped-seed1/eval/eval-100x10s.json
    python3 scripts/eval_table.py --agents 20 --contact FILE   # 20 agents per condition; each foot's contact share
"""
import argparse
import json


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


def main(path, agents, contact):
    d = json.load(open(path))
    contact_head = " contact RF / LF / LH / RH |" if contact else ""
    print(f"| command (u*, v*, r*) | mean u, v, r | relative error | fell | cycle Hz |{contact_head} diagonal / lateral / front–hind agreement |")
    print("|---|---|---|---:|---:|" + ("---|" if contact else "") + "---|")
    for c in d["conditions"]:
        cmd, v = c["commanded"], c["mean_velocity"]
        fell = round(c["fell_fraction"] * agents)
        pairs = c["foot_pairs"]
        feet = f" {' / '.join(num(x) for x in c['contact_fraction'])} |" if contact else ""
        print(
            f"| {command(cmd)} | {', '.join(num(x) for x in v)} | {rel_error(cmd, v, c['velocity_rel_error'])} | {fell}/{agents} | "
            f"{num(c['cycle_hz'])} |{feet} {num(pairs['diagonal'])} / {num(pairs['lateral'])} / {num(pairs['front_hind'])} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--agents", type=int, default=100, help="agents per condition in the eval (default 100)")
    parser.add_argument("--contact", action="store_true", help="add each foot's share of ground contact")
    args = parser.parse_args()
    main(args.file, args.agents, args.contact)
