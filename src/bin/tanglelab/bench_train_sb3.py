"""SB3 RecurrentPPO: env-steps/s of whole PPO iterations (the baseline of `tanglelab bench train
--sb3`), on Gymnasium's Walker2d-v5 or on our quadruped task rebuilt over our MJCF export in
MuJoCo (`QuadrupedEnv` below). Same network sizes as ours (LSTM 128 cells, MLP 512-256 for actor
and critic; SB3 puts the LSTM first), `threads` torch threads, `n_envs` environments in one
process (DummyVecEnv), `n_steps` per env per rollout, `epochs` passes with `minibatch` samples.

argv: total_steps threads n_envs n_steps epochs minibatch [walker2d | quadruped XML].
Prints one JSON object."""
import json
import math
import sys
import time

import numpy as np

total_steps, threads, n_envs, n_steps, epochs, minibatch = (int(a) for a in sys.argv[1:7])
robot = sys.argv[7] if len(sys.argv) > 7 else "walker2d"

import torch

torch.set_num_threads(threads)
import gymnasium as gym
import sb3_contrib
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.env_util import make_vec_env

# The quadruped as our task defines it (src/task/quadruped): leg order LF, RF, LH, RH; actions
# are joint targets q0 + 0.5·a tracked by the PD law (kp 80, kd 2, ±80 N·m; here MuJoCo's position
# actuators), 4 substeps of 5 ms per 20 ms control step; observation = base linear and angular
# velocity (base frame), projected gravity, the command, joint angles − q0, joint velocities (36);
# legged_gym's flat reward (src/task/quadruped/reward.rs); an episode ends when the base, a hip or
# a thigh touches the floor, or after 20 s. Commands uniform in ±2, ±2 m/s and ±0.5 rad/s.
DEFAULT_POSE = np.array([0.0, 0.4, -0.8, 0.0, 0.4, -0.8, 0.0, -0.4, 0.8, 0.0, -0.4, 0.8])
CONTROL_DT, SUBSTEPS, MAX_STEPS = 0.02, 4, 1000


class QuadrupedEnv(gym.Env):
    def __init__(self, xml_path, seed=0):
        import re

        import mujoco

        self.mujoco = mujoco
        text = open(xml_path).read()
        text = re.sub(r'<motor joint="([^"]+)"[^/]*/>',
                      r'<position joint="\1" kp="80" kv="2" forcelimited="true" forcerange="-80 80"/>', text)
        self.m = mujoco.MjModel.from_xml_string(text)
        self.d = mujoco.MjData(self.m)
        name = lambda g: mujoco.mj_id2name(self.m, mujoco.mjtObj.mjOBJ_GEOM, g) or ""
        names = [name(g) for g in range(self.m.ngeom)]
        self.floor = names.index("floor")
        self.feet = [names.index(f"{leg}_foot") for leg in ("LF", "RF", "LH", "RH")]
        self.shanks = {names.index(f"{leg}_shank") for leg in ("LF", "RF", "LH", "RH")}
        self.fatal = {g for g, n in enumerate(names) if n == "base_geom" or n.endswith("_hip") or n.endswith("_thigh")}
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (36,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (12,), np.float32)
        self.rng = np.random.default_rng(seed)

    def _touching(self):
        touching = set()
        for c in self.d.contact[: self.d.ncon]:
            if c.geom1 == self.floor:
                touching.add(c.geom2)
            elif c.geom2 == self.floor:
                touching.add(c.geom1)
        return touching

    def _frame(self):
        rot = np.zeros(9)
        self.mujoco.mju_quat2Mat(rot, self.d.qpos[3:7])
        rot = rot.reshape(3, 3)
        return rot.T @ self.d.qvel[:3], self.d.qvel[3:6].copy(), rot.T @ np.array([0.0, 0.0, -1.0])

    def _obs(self):
        lin, ang, gravity = self._frame()
        return np.concatenate([lin, ang, gravity, self.command, self.d.qpos[7:] - DEFAULT_POSE, self.d.qvel[6:]]).astype(np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.mujoco.mj_resetData(self.m, self.d)
        self.d.qpos[:7] = [0, 0, 0.6, 1, 0, 0, 0]
        self.d.qpos[7:] = DEFAULT_POSE + self.rng.uniform(-0.1, 0.1, 12)
        self.command = self.rng.uniform([-2, -2, -0.5], [2, 2, 0.5])
        self.steps, self.last_action, self.last_qvel = 0, np.zeros(12), np.zeros(12)
        self.air_time, self.last_contact = np.zeros(4), np.zeros(4, bool)
        return self._obs(), {}

    def step(self, action):
        a = np.clip(action, -1.0, 1.0)
        self.d.ctrl[:] = DEFAULT_POSE + 0.5 * a
        torque_sq = 0.0
        for _ in range(SUBSTEPS):
            self.mujoco.mj_step(self.m, self.d)
            torque_sq += float(np.sum(self.d.actuator_force**2)) / SUBSTEPS
        self.steps += 1
        touching = self._touching()
        contact = np.array([f in touching for f in self.feet])
        filtered = contact | self.last_contact
        first = filtered & (self.air_time > 0)
        self.air_time += CONTROL_DT
        air = float(np.sum((self.air_time - 0.5) * first))
        self.air_time[filtered] = 0.0
        self.last_contact = contact
        lin, ang, gravity = self._frame()
        u, v, r = self.command
        qvel = self.d.qvel[6:]
        terms = (math.exp(-((u - lin[0]) ** 2 + (v - lin[1]) ** 2) / 0.25)
                 + 0.5 * math.exp(-((r - ang[2]) ** 2) / 0.25)
                 - 2.0 * lin[2] ** 2 - 0.05 * (ang[0] ** 2 + ang[1] ** 2) - 5.0 * (gravity[0] ** 2 + gravity[1] ** 2)
                 - 2.5e-5 * torque_sq - 2.5e-7 * float(np.sum(((qvel - self.last_qvel) / CONTROL_DT) ** 2))
                 - 0.01 * float(np.sum((a - self.last_action) ** 2))
                 + (2.0 * air if math.hypot(u, v) > 0.1 else 0.0) - 1.0 * len(touching & self.shanks))
        self.last_action, self.last_qvel = a, qvel.copy()
        fell = bool(touching & self.fatal) or not np.all(np.isfinite(self.d.qpos))
        return self._obs(), CONTROL_DT * max(0.0, terms), fell, self.steps >= MAX_STEPS, {}


if robot == "quadruped":
    xml = sys.argv[8]
    env = make_vec_env(lambda: QuadrupedEnv(xml), n_envs=n_envs, seed=0)
else:
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
    "robot": robot,
}))
