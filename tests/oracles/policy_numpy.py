"""Independent numpy implementation of the TangleLab policy step (test oracle).

Reads weights with the `safetensors` package exactly as PyTorch names them and runs
obs -> clamp((o - mean)/sqrt(var + 1e-5), -5, 5) -> [Linear, ELU]* -> LSTM (torch gate order
i, f, g, o) -> Linear head, in float64, from zero state.

    policy_numpy.py run MODEL.safetensors OBS.npy OUT_DIR
        OBS [T, N, n_obs] -> OUT_DIR/{actions,h,c}.npy ([T, N, A], [T, N, H], [T, N, H], float64)
    policy_numpy.py make MODEL.safetensors OBS.npy --seed S [--nan NAME] [--rename OLD=NEW]
        writes random weights with torch.nn.Sequential-style dense indices (mlp.0, mlp.2),
        non-trivial obs_norm statistics, no log_std, and random observations [T=7, N=5, 11].
"""
import argparse
import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def run(model, obs_path, out_dir):
    t = {k: v.astype(np.float64) for k, v in load_file(model).items()}
    obs = np.load(obs_path).astype(np.float64)
    dense = sorted(int(k.split(".")[1]) for k in t if k.startswith("mlp.") and k.endswith(".weight"))
    w_ih, w_hh = t["lstm.weight_ih_l0"], t["lstm.weight_hh_l0"]
    b = t["lstm.bias_ih_l0"] + t["lstm.bias_hh_l0"]
    hidden = w_hh.shape[1]
    steps, agents, _ = obs.shape
    h = np.zeros((agents, hidden))
    c = np.zeros((agents, hidden))
    out_a, out_h, out_c = [], [], []
    for step in range(steps):
        x = np.clip((obs[step] - t["obs_norm.mean"]) / np.sqrt(t["obs_norm.var"] + 1e-5), -5.0, 5.0)
        for k in dense:
            z = x @ t[f"mlp.{k}.weight"].T + t[f"mlp.{k}.bias"]
            x = np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))
        gates = x @ w_ih.T + h @ w_hh.T + b
        i, f, g, o = np.split(gates, 4, axis=1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out_a.append(h @ t["head.weight"].T + t["head.bias"])
        out_h.append(h)
        out_c.append(c)
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "actions.npy"), np.stack(out_a))
    np.save(os.path.join(out_dir, "h.npy"), np.stack(out_h))
    np.save(os.path.join(out_dir, "c.npy"), np.stack(out_c))


def make(model, obs_path, seed, nan, renames):
    rng = np.random.default_rng(seed)
    n_obs, widths, hidden, actions = 11, [24, 16], 8, 3

    def u(*shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)

    t = {
        "obs_norm.mean": rng.normal(0.0, 0.5, n_obs).astype(np.float32),
        "obs_norm.var": rng.uniform(0.01, 2.0, n_obs).astype(np.float32),
    }
    n_in = n_obs
    for layer, width in enumerate(widths):
        k = 2 * layer  # nn.Sequential(Linear, ELU, Linear, ELU)
        t[f"mlp.{k}.weight"] = u(width, n_in, fan_in=n_in)
        t[f"mlp.{k}.bias"] = u(width, fan_in=n_in)
        n_in = width
    t["lstm.weight_ih_l0"] = u(4 * hidden, n_in, fan_in=hidden) * 3.0
    t["lstm.weight_hh_l0"] = u(4 * hidden, hidden, fan_in=hidden) * 3.0
    t["lstm.bias_ih_l0"] = u(4 * hidden, fan_in=hidden)
    t["lstm.bias_hh_l0"] = u(4 * hidden, fan_in=hidden)
    t["head.weight"] = u(actions, hidden, fan_in=hidden)
    t["head.bias"] = u(actions, fan_in=hidden)
    if nan:
        t[nan].flat[1] = np.nan
    for rename in renames:
        old, new = rename.split("=")
        t[new] = t.pop(old)
    save_file(t, model)
    # Observations wide enough that some normalised values hit the ±5 clamp.
    obs = rng.normal(0.0, 3.0, size=(7, 5, n_obs)).astype(np.float32)
    np.save(obs_path, obs)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("model")
    r.add_argument("obs")
    r.add_argument("out_dir")
    m = sub.add_parser("make")
    m.add_argument("model")
    m.add_argument("obs")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--nan", default=None)
    m.add_argument("--rename", action="append", default=[])
    a = parser.parse_args()
    if a.cmd == "run":
        run(a.model, a.obs, a.out_dir)
    else:
        make(a.model, a.obs, a.seed, a.nan, a.rename)


if __name__ == "__main__":
    sys.exit(main())
