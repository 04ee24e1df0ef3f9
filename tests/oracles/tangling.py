"""Independent numpy implementation of trajectory tangling (DESIGN.md), used as a test oracle.

Usage: python3 tangling.py X.npy Q.npy DT CYCLIC(0|1) EPS_FRAC ZSCORE(0|1)
X is [T, D] or [C, T, D]; Q is written as [T] or [C, T] float64 with NaN where undefined.
"""
import sys

import numpy as np


def tangling(x, dt, cyclic, eps_frac, zscore):
    single = x.ndim == 2
    x = np.asarray(x, dtype=np.float64)
    if single:
        x = x[None]
    c, t, d = x.shape
    flat = x.reshape(-1, d)
    if zscore:
        sd = flat.std(axis=0)
        sd[sd == 0] = np.inf
        x = (x - flat.mean(axis=0)) / sd
        flat = x.reshape(-1, d)
    eps = eps_frac * np.mean(np.sum((flat - flat.mean(axis=0)) ** 2, axis=1))
    if cyclic:
        dx = (x - np.roll(x, 1, axis=1)) / dt
        valid = np.ones((c, t), dtype=bool)
    else:
        dx = np.zeros_like(x)
        dx[:, 1:] = np.diff(x, axis=1) / dt
        valid = np.ones((c, t), dtype=bool)
        valid[:, 0] = False
    states, derivs = x[valid], dx[valid]
    num = ((derivs[:, None, :] - derivs[None, :, :]) ** 2).sum(-1)
    den = ((states[:, None, :] - states[None, :, :]) ** 2).sum(-1) + eps
    q = np.full((c, t), np.nan)
    q[valid] = (num / den).max(axis=1)
    return q[0] if single else q


if __name__ == "__main__":
    x = np.load(sys.argv[1])
    q = tangling(x, float(sys.argv[3]), sys.argv[4] == "1", float(sys.argv[5]), sys.argv[6] == "1")
    np.save(sys.argv[2], q)
