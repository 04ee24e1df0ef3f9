#!/usr/bin/env python3
"""Run a TangleLab study on Ray: one task per shard, then `tanglelab study merge`.

    python3 scripts/ray_study.py --shards 8 --out-dir D [--address auto] [--tanglelab PATH] \
        -- --robot walker2d --model M.safetensors --protocol speed-sweep [other `study run` flags]

Each task runs `tanglelab study run <flags> --shard i/N --out-dir D/shard-i` (one thread each:
RAYON_NUM_THREADS=1, one CPU per task); the driver then merges the shards into D. The result is
the same, bit for bit, as one `tanglelab study run <flags> --out-dir D` (shards are whole groups
of agents, each agent's randomness depends on its index only). Without --address Ray starts on
this machine; with --address auto (or ray://host:10001) the tasks go to an existing cluster. The
tanglelab binary and the model must be at the same path on every node (a shared file system).
Needs `pip install ray` (tested with 2.60).
"""
import argparse
import os
import subprocess
import sys

import ray


@ray.remote(num_cpus=1)
def run_shard(tanglelab, flags, index, count, out_dir):
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    cmd = [tanglelab, "study", "run", *flags, "--shard", f"{index}/{count}", "--out-dir", out_dir]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"shard {index}/{count} failed: {done.stderr.strip()}")
    return out_dir


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--address", default=None, help="an existing Ray cluster (default: start one here)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray (default: all)")
    parser.add_argument("--tanglelab", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "tanglelab"))
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="-- then the flags of `tanglelab study run`")
    args = parser.parse_args()
    flags = args.flags[1:] if args.flags[:1] == ["--"] else args.flags
    if any(f.startswith("--shard") or f.startswith("--out-dir") for f in flags):
        sys.exit("pass --shards and --out-dir to this script, not to `study run`")
    tanglelab = os.path.abspath(args.tanglelab)
    out_dir = os.path.abspath(args.out_dir)
    os.makedirs(out_dir, exist_ok=True)
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    shards = [os.path.join(out_dir, f"shard-{i}") for i in range(1, args.shards + 1)]
    dirs = ray.get([run_shard.remote(tanglelab, flags, i, args.shards, d) for i, d in enumerate(shards, start=1)])
    merged = subprocess.run([tanglelab, "study", "merge", *dirs, "--out-dir", out_dir], capture_output=True, text=True)
    sys.stdout.write(merged.stdout)
    if merged.returncode != 0:
        sys.exit(f"merge failed: {merged.stderr.strip()}")


if __name__ == "__main__":
    main()
