"""Baselines for `tanglelab bench analysis`: numpy's vectorised tangling (Gram-matrix form) and
scikit-learn's PCA, timed on the same arrays the Rust side times (paths in argv).

Prints one JSON object: best-of-N wall times and mean CPU times per run in seconds and the results' agreement with ours.
"""
import json
import sys
import time

import numpy as np
from sklearn.decomposition import PCA


def zscore(x):
    flat = x.reshape(-1, x.shape[-1])
    mean, sd = flat.mean(axis=0), flat.std(axis=0)
    return (x - mean) / np.where(sd > 0, sd, 1.0)


def tangling_numpy(x, eps_frac=0.1, dt=1.0):
    """Cyclic tangling with ||a-b||^2 = ||a||^2 + ||b||^2 - 2 a.b (two N x N matmuls, a row max)."""
    z = zscore(x)
    dz = (z - np.roll(z, 1, axis=1)) / dt
    n_dims = z.shape[-1]
    states, derivs = z.reshape(-1, n_dims), dz.reshape(-1, n_dims)
    eps = eps_frac * ((states - states.mean(axis=0)) ** 2).sum(axis=1).mean()
    sq_s, sq_d = (states**2).sum(axis=1), (derivs**2).sum(axis=1)
    dist_s = sq_s[:, None] + sq_s[None, :] - 2.0 * states @ states.T
    dist_d = sq_d[:, None] + sq_d[None, :] - 2.0 * derivs @ derivs.T
    return (dist_d / (dist_s + eps)).max(axis=1).reshape(x.shape[:2])


def pca_sklearn(x, n_components):
    return PCA(n_components=n_components).fit(zscore(x))


def best_of(f, repeats):
    """Best wall time, mean process CPU time per run (all threads), last result."""
    best, out = float("inf"), None
    cpu_start = time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - start)
    return best, (time.process_time() - cpu_start) / repeats, out


def main():
    tangling_in, tangling_ours, pca_in, n_components, repeats = sys.argv[1:6]
    repeats = int(repeats)
    x = np.load(tangling_in)
    secs_tangling, cpu_tangling, q = best_of(lambda: tangling_numpy(x), repeats)
    ours = np.load(tangling_ours)
    rel_err = float(np.max(np.abs(q - ours)) / np.max(np.abs(ours)))
    y = np.load(pca_in)
    secs_pca, cpu_pca, _ = best_of(lambda: pca_sklearn(y, int(n_components)), repeats)
    print(json.dumps({
        "tangling_secs": secs_tangling,
        "tangling_cpu_secs": cpu_tangling,
        "pca_cpu_secs": cpu_pca,
        "tangling_max_rel_diff": rel_err,
        "pca_secs": secs_pca,
        "numpy": np.__version__,
    }))


if __name__ == "__main__":
    main()
