"""Independent numpy re-analysis of a `tanglelab study run` directory (issue 11), a test oracle.

Usage: python3 study.py DIR OUT.json
Reads DIR/protocol.json and DIR/traces/*.npy and recomputes, per trace condition, from the
definitions in docs/DESIGN.md alone: used cycles (reference-foot lift-offs of the contact debounced to phases of at
least 3 control steps, after the warm-up, alive through), the modal length weighted by time (length x count, the shorter
on a tie), the cycle averages of c, h and the
actions, and the intra-condition tangling (z-scored over the average's own samples, cyclic,
dt = the recording interval, eps = 0.1 x total variance): mean and max Q. Writes them as JSON.
"""
import json
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from tangling import tangling  # noqa: E402


def lift_offs(contact, min_phase):
    # Maximal runs of equal flags; a run of >= min_phase samples whose value differs from the
    # current phase sets the phase; a lift-off is the first sample of a swing run that ends a stance.
    flags = contact.astype(bool)
    out, phase, t = [], None, 0
    while t < len(flags):
        end = t
        while end < len(flags) and flags[end] == flags[t]:
            end += 1
        if end - t >= max(min_phase, 1) and phase != flags[t]:
            if phase is True:
                out.append(t)
            phase = bool(flags[t])
        t = end
    return out


def main(directory, out):
    proto = json.load(open(f"{directory}/protocol.json"))
    interval = proto["record_interval_secs"]
    warmup = int(round(proto["warmup_secs"] / interval))
    min_phase = -(-3 // proto["protocol"]["record_every"])  # MIN_PHASE_STEPS = 3 control steps
    tr = {k: np.load(f"{directory}/traces/{k}.npy") for k in ["cell", "hidden", "actions", "contacts", "alive"]}
    n_cond, n_agents, _ = tr["alive"].shape
    result = []
    for c in range(n_cond):
        used = []
        for a in range(n_agents):
            lo = lift_offs(tr["contacts"][c, a, :, 0], min_phase)
            for s, e in zip(lo[:-1], lo[1:]):
                if s >= warmup and tr["alive"][c, a, s:e].all():
                    used.append((a, s, e - s))
        entry = {"cycle_len": None, "cycles_kept": 0, "cycles_dropped": len(used)}
        if used:
            lengths, counts = np.unique([u[2] for u in used], return_counts=True)
            modal = int(lengths[np.argmax(lengths * counts)])  # np.unique sorts: argmax takes the shorter on a tie
            kept = [u for u in used if u[2] == modal]
            entry = {"cycle_len": modal, "cycles_kept": len(kept), "cycles_dropped": len(used) - len(kept)}
            for signal in ["cell", "hidden", "actions"]:
                x = tr[signal].astype(np.float64)
                avg = np.mean([x[c, a, s : s + modal] for a, s, _ in kept], axis=0)
                q = tangling(avg, interval, True, 0.1, True)
                entry[signal] = {"mean": float(np.mean(q)), "max": float(np.max(q))}
        result.append(entry)
    json.dump(result, open(out, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
