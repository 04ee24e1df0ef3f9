"""Reference results for src/analysis/, computed with numpy / scipy / scikit-learn.

Usage: python3 tests/oracles/analysis.py TASK DIR
Reads DIR/params.json and the task's input NPY files from DIR, writes the outputs there.
Called by tests/analysis_oracle.rs; every formula here is written from the libraries' (or the
papers' reference code's) conventions, independently of the Rust code under test.
"""
import json
import sys

import numpy as np


def zscore(x):
    """Each dimension over all (condition, sample) pairs; constant dims stay 0."""
    flat = x.reshape(-1, x.shape[-1])
    mean = flat.mean(axis=0)
    sd = flat.std(axis=0)
    scale = np.where(sd > 0, 1.0 / np.where(sd > 0, sd, 1.0), 0.0)
    return (x - mean) * scale


def flip_largest_positive(components):
    """Sign convention: the largest-magnitude loading of each row is positive."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), idx])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def sk_pca(stacked, n_components):
    from sklearn.decomposition import PCA

    model = PCA(n_components=n_components, svd_solver="full").fit(stacked)
    return model, flip_largest_positive(model.components_)


def task_pca(d, p):
    """One PCA per entry of p["runs"], outputs suffixed with the run's index."""
    x = np.load(f"{d}/x.npy")
    z = zscore(x)
    for k, run in enumerate(p["runs"]):
        fit = z[run["fit_condition"]] if run.get("fit_condition") is not None else z.reshape(-1, z.shape[-1])
        model, comps = sk_pca(fit, run["n_components"])
        scores = (z - model.mean_) @ comps.T
        np.save(f"{d}/components_{k}.npy", comps)
        np.save(f"{d}/explained_variance_ratio_{k}.npy", model.explained_variance_ratio_)
        np.save(f"{d}/explained_variance_{k}.npy", model.explained_variance_)
        np.save(f"{d}/scores_{k}.npy", scores)


def task_speed_axis(d, p):
    x = np.load(f"{d}/x.npy")
    first, last = p["first_pc"], p["last_pc"]
    z = zscore(x)
    model, comps = sk_pca(z.reshape(-1, z.shape[-1]), last)
    scores = (z - model.mean_) @ comps.T  # [C, T, last]
    means = scores[:, :, first - 1 : last].mean(axis=1)  # [C, n_axis_pcs]
    _, _, vt = np.linalg.svd(means, full_matrices=False)
    dvec = vt[0]
    on_d = means @ dvec
    if on_d[-1] < on_d[0]:
        dvec = -dvec
    axis = comps[first - 1 : last].T @ dvec
    projection = np.concatenate([scores[:, :, :2], (scores[:, :, first - 1 : last] @ dvec)[:, :, None]], axis=2)
    np.save(f"{d}/axis.npy", axis)
    np.save(f"{d}/projection.npy", projection)


def task_spline(d, p):
    from scipy.interpolate import CubicSpline

    knots, values, times = (np.load(f"{d}/{n}.npy") for n in ("knots", "values", "times"))
    np.save(f"{d}/out.npy", CubicSpline(knots, values, axis=0, bc_type="natural")(times))


def task_psd(d, p):
    """One Welch estimate per entry of p["runs"], outputs suffixed with the run's index."""
    from scipy.signal import welch

    x = np.load(f"{d}/signals.npy")
    for k, run in enumerate(p["runs"]):
        freqs, density = welch(
            x,
            fs=run["fs"],
            window="hann",
            nperseg=run["nperseg"],
            noverlap=run["noverlap"],
            detrend=run["detrend"] if run["detrend"] else False,
            return_onesided=True,
            scaling="density",
            axis=-1,
            average="mean",
        )
        np.save(f"{d}/freqs_{k}.npy", freqs)
        np.save(f"{d}/density_{k}.npy", density)


# CKA as in Kornblith et al.'s reference notebook (google-research/google-research, representation_similarity).
def gram_linear(x):
    return x.dot(x.T)


def gram_rbf(x, threshold=1.0):
    dot_products = x.dot(x.T)
    sq_norms = np.diag(dot_products)
    sq_distances = -2 * dot_products + sq_norms[:, None] + sq_norms[None, :]
    sq_median_distance = np.median(sq_distances)
    return np.exp(-sq_distances / (2 * threshold**2 * sq_median_distance))


def center_gram(gram):
    gram = gram.copy()
    means = np.mean(gram, 0, dtype=np.float64)
    means -= np.mean(means) / 2
    gram -= means[:, None]
    gram -= means[None, :]
    return gram


def cka(gram_x, gram_y):
    gram_x, gram_y = center_gram(gram_x), center_gram(gram_y)
    scaled_hsic = gram_x.ravel().dot(gram_y.ravel())
    return scaled_hsic / (np.linalg.norm(gram_x) * np.linalg.norm(gram_y))


def task_cka(d, p):
    x, y = np.load(f"{d}/x.npy"), np.load(f"{d}/y.npy")
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    out = {
        "linear": cka(gram_linear(x), gram_linear(y)),
        # Kornblith's feature-space form on column-centred data (spec 003, check 1).
        "linear_feature": np.linalg.norm(yc.T @ xc) ** 2
        / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)),
        "rbf": cka(gram_rbf(x, p["threshold"]), gram_rbf(y, p["threshold"])),
    }
    with open(f"{d}/out.json", "w") as f:
        json.dump(out, f)


def task_tsne(d, p):
    from sklearn.manifold import TSNE, trustworthiness
    from sklearn.manifold._t_sne import _joint_probabilities
    from sklearn.metrics import pairwise_distances

    x, ours = np.load(f"{d}/x.npy"), np.load(f"{d}/ours.npy")
    model = TSNE(
        n_components=2,
        perplexity=p["perplexity"],
        method=p["method"],
        init="pca",
        learning_rate="auto",
        max_iter=p["n_iter"],
        random_state=0,
    )
    theirs = model.fit_transform(x)
    # KL of our embedding under the exact joint P (scikit-learn's own affinities).
    P = squareform_full(_joint_probabilities(pairwise_distances(x, squared=True), p["perplexity"], 0))
    sq = pairwise_distances(ours, squared=True)
    kernel = 1.0 / (1.0 + sq)
    np.fill_diagonal(kernel, 0.0)
    Q = np.maximum(kernel / kernel.sum(), np.finfo(float).eps)
    mask = P > 0
    out = {
        "sklearn_kl": float(model.kl_divergence_),
        "exact_kl_of_ours": float(np.sum(P[mask] * np.log(P[mask] / Q[mask]))),
        "trust_sklearn": float(trustworthiness(x, theirs, n_neighbors=10)),
        "trust_ours": float(trustworthiness(x, ours, n_neighbors=10)),
    }
    with open(f"{d}/out.json", "w") as f:
        json.dump(out, f)


def task_anova(d, p):
    """groups.npy [G, n] (NaN-padded) -> anova.npy [F, p] (scipy.stats.f_oneway);
    betainc.npy [K, 3] of (x, a, b) -> betainc_out.npy [K] (scipy.special.betainc)."""
    from scipy.stats import f_oneway
    from scipy.special import betainc

    groups = np.load(f"{d}/groups.npy")
    samples = [g[~np.isnan(g)] for g in groups]
    result = f_oneway(*samples)
    np.save(f"{d}/anova.npy", np.array([result.statistic, result.pvalue]))
    cases = np.load(f"{d}/betainc.npy")
    np.save(f"{d}/betainc_out.npy", betainc(cases[:, 1], cases[:, 2], cases[:, 0]))


def squareform_full(condensed):
    from scipy.spatial.distance import squareform

    return squareform(condensed)


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}

if __name__ == "__main__":
    task, directory = sys.argv[1], sys.argv[2]
    with open(f"{directory}/params.json") as f:
        params = json.load(f)
    TASKS[task](directory, params)
