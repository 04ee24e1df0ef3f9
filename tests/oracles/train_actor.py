"""Oracle for the trainer's actor: numpy forward pass of PolicyWeights over a sequence.

Usage: train_actor.py DIR. Reads DIR/*.npy written by tests/train_actor.rs (obs (T, B, n_obs),
obs_mean, obs_var, mlp{k}_weight/bias, weight_ih, weight_hh, bias_ih, bias_hh, head_weight,
head_bias) and writes DIR/mean.npy (T, B, n_actions) computed in float64 with PyTorch's LSTM
equations (gate order i, f, g, o), starting from zero state.
"""
import glob
import os
import sys

import numpy as np


def main(d):
    load = lambda name: np.load(os.path.join(d, name + ".npy")).astype(np.float64)
    obs = load("obs")
    mean, var = load("obs_mean"), load("obs_var")
    n_layers = len(glob.glob(os.path.join(d, "mlp*_weight.npy")))
    layers = [(load(f"mlp{k}_weight"), load(f"mlp{k}_bias")) for k in range(n_layers)]
    w_ih, w_hh, b_ih, b_hh = load("weight_ih"), load("weight_hh"), load("bias_ih"), load("bias_hh")
    head_w, head_b = load("head_weight"), load("head_bias")
    n_steps, n_batch, _ = obs.shape
    hidden = w_hh.shape[1]
    h = np.zeros((n_batch, hidden))
    c = np.zeros((n_batch, hidden))
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    out = []
    for t in range(n_steps):
        x = np.clip((obs[t] - mean) / np.sqrt(var + 1e-5), -5.0, 5.0)
        for w, b in layers:
            z = x @ w.T + b
            x = np.where(z > 0, z, np.expm1(z))
        g = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, gg, o = np.split(g, 4, axis=1)
        c = sig(f) * c + sig(i) * np.tanh(gg)
        h = sig(o) * np.tanh(c)
        out.append(h @ head_w.T + head_b)
    np.save(os.path.join(d, "mean.npy"), np.stack(out))


if __name__ == "__main__":
    main(sys.argv[1])
