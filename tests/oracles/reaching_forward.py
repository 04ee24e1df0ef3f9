"""Independent numpy forward pass of the reaching models (test oracle), written from the
authors' PyTorch modules (supervised_models.py: BaselineRNN, RNN_Recursive) in eval mode:
torch.nn.RNNCell / GRUCell equations, tensors loaded by their PyTorch names.

    reaching_forward.py MODEL.safetensors DIR
        DIR/inputs.npy [N, T, 3], DIR/targets.npy [N, 2], DIR/go.npy [N], DIR/field.txt ("off"|"spec")
        -> DIR/np_outputs.npy [N, T, C], DIR/np_hidden.npy [N, T, H], DIR/np_hand.npy [N, T, 2]

The field (spec's proposal): force (-5, 0) in scaled acceleration units after the go cue while
the hand is in x in [-25, 25], y in (0, 50]. Standard model: open loop along the ideal path,
added (with its integrals /10 and /100) to the outputs. Buffer model: closed loop on the model's
own hand (position = cumsum(cumsum(a')) / 100), the buffer (5 or L outputs) holds a'.
"""
import json
import sys

import numpy as np
from safetensors import safe_open


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def load(path):
    with safe_open(path, framework="numpy") as f:
        spec = json.loads(f.metadata()["spec"])
        t = {k: f.get_tensor(k).astype(np.float64) for k in f.keys()}
    return spec, t


def cell(spec, t, x, h):
    gi = x @ t["rnn.weight_ih"].T + t["rnn.bias_ih"]
    gh = h @ t["rnn.weight_hh"].T + t["rnn.bias_hh"]
    if spec["cell"] == "gru":
        ir, iz, inn = np.split(gi, 3, axis=1)
        hr, hz, hn = np.split(gh, 3, axis=1)
        r, z = sigmoid(ir + hr), sigmoid(iz + hz)
        n = np.tanh(inn + r * hn)
        return (1 - z) * n + z * h
    pre = gi + gh
    return np.maximum(pre, 0.0) if spec["cell"] == "relu" else np.tanh(pre)


def linear(t, name, x):
    return x @ t[f"{name}.weight"].T + t[f"{name}.bias"]


def gated(pos, t_step, go):
    inside = (t_step >= go) & (np.abs(pos[:, 0]) <= 25) & (pos[:, 1] > 0) & (pos[:, 1] <= 50)
    force = np.zeros_like(pos)
    force[inside, 0] = -5.0
    return force


def main(model, d):
    spec, t = load(model)
    inputs = np.load(f"{d}/inputs.npy")
    targets, go = np.load(f"{d}/targets.npy"), np.load(f"{d}/go.npy").astype(int)
    field = open(f"{d}/field.txt").read().strip() == "spec"
    n, steps, _ = inputs.shape
    hidden = t["rnn.weight_hh"].shape[1]
    h = np.zeros((n, hidden))
    outs, hs, hands = [], [], []
    if spec["kind"] == "standard":
        ts = np.arange(steps, dtype=np.float64)
        ideal = targets[:, :, None] / (1 + np.exp(-(ts[None, None, :] - go[:, None, None] - 15) / 3))  # [N, 2, T]
        force = np.stack([gated(ideal[:, :, k], k, go) if field else np.zeros((n, 2)) for k in range(steps)], axis=2)
        vel, pos = np.cumsum(force, axis=2) / 10, np.cumsum(np.cumsum(force, axis=2), axis=2) / 100
        for k in range(steps):
            h = cell(spec, t, inputs[:, k], h)
            y = linear(t, "out_layer.3", np.maximum(linear(t, "out_layer.1", h), 0.0))
            y = y + np.concatenate([force[:, :, k], vel[:, :, k], pos[:, :, k]], axis=1)
            outs.append(y)
            hs.append(h)
            hands.append(y[:, 4:6])
    else:
        buffer = [np.zeros((n, 2)) for _ in range(spec["buffer_len"])]
        s1, s2 = np.zeros((n, 2)), np.zeros((n, 2))
        for k in range(steps):
            x = np.concatenate([inputs[:, k], *buffer], axis=1)
            x = np.maximum(linear(t, "in_layer.0", x), 0.0)
            x = np.maximum(linear(t, "in_layer.3", x), 0.0)
            h = cell(spec, t, x, h)
            a = linear(t, "out_layer.3", np.maximum(linear(t, "out_layer.1", h), 0.0))
            if field:
                a = a + gated(s2 / 100, k, go)
            s1 = s1 + a
            s2 = s2 + s1
            buffer = buffer[1:] + [a]
            outs.append(a)
            hs.append(h)
            hands.append(s2 / 100)
    np.save(f"{d}/np_outputs.npy", np.stack(outs, axis=1))
    np.save(f"{d}/np_hidden.npy", np.stack(hs, axis=1))
    np.save(f"{d}/np_hand.npy", np.stack(hands, axis=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
