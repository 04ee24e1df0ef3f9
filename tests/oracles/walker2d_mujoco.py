"""MuJoCo oracle for the Walker2D simulator tests (tests/sim_walker2d.rs).

Usage:
  walker2d_mujoco.py model OUT.json                 masses, COMs, inertias (body frame) of walker2d_v5
  walker2d_mujoco.py forward XML S.npy OUT.npy      contact-free mj_forward qacc for rows qpos|qvel|ctrl
  walker2d_mujoco.py rollout XML SPEC.json OUT_DIR   a scenario with contacts (see `rollout`)
  walker2d_mujoco.py gym_step S.npy A.npy OUT_DIR   one Gymnasium Walker2d-v5 step from each state
  walker2d_mujoco.py steps XML S.npy N OUT.npy      qpos|qvel after N contact-free Euler steps per row
XML is a path, or "gymnasium" for Gymnasium's walker2d_v5.xml.
"""
import json
import os
import sys

import mujoco
import numpy as np


def load(xml):
    if xml == "gymnasium":
        import gymnasium

        xml = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets", "walker2d_v5.xml")
    return mujoco.MjModel.from_xml_path(xml)


def model_info(out):
    m = load("gymnasium")
    bodies = []
    for b in range(m.nbody):
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, m.body_iquat[b])
        rot = rot.reshape(3, 3)
        inertia = rot @ np.diag(m.body_inertia[b]) @ rot.T
        bodies.append({"name": m.body(b).name, "mass": float(m.body_mass[b]), "ipos": m.body_ipos[b].tolist(),
                       "inertia": inertia.tolist()})
    json.dump({"bodies": bodies, "qpos0": m.qpos0.tolist(), "nq": m.nq, "nv": m.nv, "nu": m.nu}, open(out, "w"))


def forward(xml, states_path, out):
    m = load(xml)
    m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
    d = mujoco.MjData(m)
    s = np.load(states_path)
    assert s.shape[1] == m.nq + m.nv + m.nu, s.shape
    qacc = np.zeros((s.shape[0], m.nv))
    for i, row in enumerate(s):
        d.qpos[:] = row[: m.nq]
        d.qvel[:] = row[m.nq: m.nq + m.nv]
        d.ctrl[:] = row[m.nq + m.nv:]
        mujoco.mj_forward(m, d)
        assert d.nefc == 0, f"row {i}: {d.nefc} constraint rows active (state outside the joint limits?)"
        qacc[i] = d.qacc
    np.save(out, qacc)


def steps(xml, states_path, n, out):
    """From each row qpos|qvel|ctrl of S, N mj_step calls with contacts off and MuJoCo's Euler
    integrator without implicit damping (= semi-implicit Euler); saves the final qpos|qvel."""
    m = load(xml)
    m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT | mujoco.mjtDisableBit.mjDSBL_EULERDAMP
    m.opt.integrator = mujoco.mjtIntegrator.mjINT_EULER
    d = mujoco.MjData(m)
    s = np.load(states_path)
    result = np.zeros((s.shape[0], m.nq + m.nv))
    for i, row in enumerate(s):
        mujoco.mj_resetData(m, d)
        d.qpos[:] = row[: m.nq]
        d.qvel[:] = row[m.nq: m.nq + m.nv]
        d.ctrl[:] = row[m.nq + m.nv:]
        mujoco.mj_step(m, d, nstep=n)
        result[i, : m.nq] = d.qpos
        result[i, m.nq:] = d.qvel
    np.save(out, result)


def rollout(xml, spec_path, out):
    """SPEC: {"steps": N, "qpos": [...], "qvel": [...], "ctrl": [[...] per step] or null,
    "integrator": "RK4"|"Euler"}. Saves OUT_DIR/qpos.npy (N+1, nq), foot_contact.npy (N+1, 2) float 0/1 for
    the right and left feet, min_dist.npy (N+1) deepest contact distance (0 if none)."""
    m = load(xml)
    spec = json.load(open(spec_path))
    if spec.get("integrator", "RK4") == "Euler":  # without implicit damping: our semi-implicit Euler
        m.opt.integrator = mujoco.mjtIntegrator.mjINT_EULER
        m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_EULERDAMP
    d = mujoco.MjData(m)
    d.qpos[:] = spec["qpos"]
    d.qvel[:] = spec["qvel"]
    feet = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, n) for n in ("foot_geom", "foot_left_geom")]
    n = spec["steps"]
    qpos = np.zeros((n + 1, m.nq))
    contact = np.zeros((n + 1, 2), dtype=bool)
    min_dist = np.zeros(n + 1)

    def record(t):
        mujoco.mj_forward(m, d)
        qpos[t] = d.qpos
        geoms = {int(g) for c in d.contact[: d.ncon] for g in (c.geom1, c.geom2)}
        contact[t] = [f in geoms for f in feet]
        min_dist[t] = min([c.dist for c in d.contact[: d.ncon]], default=0.0)

    record(0)
    for t in range(n):
        if spec.get("ctrl") is not None:
            d.ctrl[:] = spec["ctrl"][t]
        mujoco.mj_step(m, d)
        record(t + 1)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "qpos.npy"), qpos)
    np.save(os.path.join(out, "foot_contact.npy"), contact.astype(np.float64))
    np.save(os.path.join(out, "min_dist.npy"), min_dist)


def gym_step(states_path, actions_path, out):
    """From each state qpos|qvel (rows of S), one Gymnasium Walker2d-v5 `step` with the action in the
    same row of A. Saves OUT_DIR/obs.npy (N, 17), reward.npy, terminated.npy (0/1), x_velocity.npy.
    The integrator is switched to MuJoCo's Euler without implicit damping, which is exactly our
    semi-implicit Euler, so contact-free steps must agree to round-off."""
    import gymnasium as gym

    env = gym.make("Walker2d-v5").unwrapped
    env.model.opt.integrator = mujoco.mjtIntegrator.mjINT_EULER
    env.model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_EULERDAMP
    s, a = np.load(states_path), np.load(actions_path)
    n = s.shape[0]
    obs, reward, terminated, x_velocity = np.zeros((n, 17)), np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        env.reset(seed=0)
        env.set_state(s[i, :9], s[i, 9:])
        obs[i], reward[i], terminated[i], _, info = env.step(a[i])
        x_velocity[i] = info["x_velocity"]
    os.makedirs(out, exist_ok=True)
    for name, value in [("obs", obs), ("reward", reward), ("terminated", terminated), ("x_velocity", x_velocity)]:
        np.save(os.path.join(out, name + ".npy"), value)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "model":
        model_info(sys.argv[2])
    elif cmd == "forward":
        forward(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "rollout":
        rollout(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "steps":
        steps(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "gym_step":
        gym_step(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
