"""SB3 RecurrentPPO on Gymnasium Walker2d-v5: env-steps/s of whole PPO iterations (the baseline
of `tanglelab bench train --sb3`). Same network sizes as ours (LSTM 128 cells, MLP 512-256 for
actor and critic; SB3 puts the LSTM first), `threads` torch threads, `n_envs` environments in one
process (DummyVecEnv), `n_steps` per env per rollout, `epochs` passes with `minibatch` samples.

argv: total_steps threads n_envs n_steps epochs minibatch. Prints one JSON object."""
import json
import sys
import time

total_steps, threads, n_envs, n_steps, epochs, minibatch = (int(a) for a in sys.argv[1:7])

import torch

torch.set_num_threads(threads)
import gymnasium as gym
import sb3_contrib
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.env_util import make_vec_env

env = make_vec_env("Walker2d-v5", n_envs=n_envs, seed=0)
model = RecurrentPPO(
    "MlpLstmPolicy",
    env,
    n_steps=n_steps,
    batch_size=minibatch,
    n_epochs=epochs,
    learning_rate=3e-4,
    policy_kwargs=dict(lstm_hidden_size=128, n_lstm_layers=1, net_arch=dict(pi=[512, 256], vf=[512, 256])),
    seed=0,
    device="cpu",
    verbose=0,
)
# One iteration first (allocations, first-call overheads), then the timed ones.
model.learn(total_timesteps=n_envs * n_steps)
cpu0, wall0 = time.process_time(), time.perf_counter()
model.learn(total_timesteps=total_steps, reset_num_timesteps=False)
wall = time.perf_counter() - wall0
cpu = time.process_time() - cpu0
steps = model.num_timesteps - n_envs * n_steps
print(json.dumps({
    "steps": steps,
    "steps_per_sec": steps / wall,
    "steps_per_cpu_sec": steps / cpu,
    "torch": torch.__version__,
    "sb3_contrib": sb3_contrib.__version__,
    "gymnasium": gym.__version__,
}))
