"""MuJoCo oracle for the quadruped tests (tests/sim_quadruped.rs), on our own MJCF export.

Usage:
  quadruped_mujoco.py model XML OUT.json        masses, COMs, inertias (body frame) as MuJoCo compiles them
  quadruped_mujoco.py stand XML SPEC.json OUT   a drop onto the feet, passive or under the PD law
SPEC: {"steps": N, "qpos": [...], "qvel": [...], "pd": null or {"kp", "kd", "limit", "target": [12]}}.
The PD law tau = clip(kp (target - q) - kd qd, +-limit) is applied at every physics step, as the
task does. MuJoCo's Euler integrator without implicit damping (= our semi-implicit Euler).
OUT/qpos.npy (N+1, nq), OUT/foot_contact.npy (N+1, 4) 0/1 in leg order LF, RF, LH, RH,
OUT/min_dist.npy (N+1) deepest contact distance (0 if none), OUT/energy.npy (N+1) kinetic + potential.
"""
import json
import os
import sys

import mujoco
import numpy as np

FEET = ("LF_foot", "RF_foot", "LH_foot", "RH_foot")


def model_info(xml, out):
    m = mujoco.MjModel.from_xml_path(xml)
    bodies = []
    for b in range(m.nbody):
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, m.body_iquat[b])
        rot = rot.reshape(3, 3)
        inertia = rot @ np.diag(m.body_inertia[b]) @ rot.T
        bodies.append({"name": m.body(b).name, "mass": float(m.body_mass[b]), "ipos": m.body_ipos[b].tolist(),
                       "inertia": inertia.tolist()})
    json.dump({"bodies": bodies, "nq": m.nq, "nv": m.nv, "nu": m.nu}, open(out, "w"))


def stand(xml, spec_path, out):
    m = mujoco.MjModel.from_xml_path(xml)
    m.opt.integrator = mujoco.mjtIntegrator.mjINT_EULER
    m.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_EULERDAMP
    m.opt.enableflags |= mujoco.mjtEnableBit.mjENBL_ENERGY
    spec = json.load(open(spec_path))
    d = mujoco.MjData(m)
    d.qpos[:] = spec["qpos"]
    d.qvel[:] = spec["qvel"]
    feet = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, n) for n in FEET]
    n = spec["steps"]
    qpos, contact = np.zeros((n + 1, m.nq)), np.zeros((n + 1, 4))
    min_dist, energy = np.zeros(n + 1), np.zeros(n + 1)
    pd = spec.get("pd")

    def record(t):
        mujoco.mj_forward(m, d)
        qpos[t] = d.qpos
        geoms = {int(g) for c in d.contact[: d.ncon] for g in (c.geom1, c.geom2)}
        contact[t] = [f in geoms for f in feet]
        min_dist[t] = min([c.dist for c in d.contact[: d.ncon]], default=0.0)
        energy[t] = d.energy[0] + d.energy[1]

    record(0)
    for t in range(n):
        if pd is not None:
            tau = pd["kp"] * (np.array(pd["target"]) - d.qpos[7:]) - pd["kd"] * d.qvel[6:]
            d.ctrl[:] = np.clip(tau, -pd["limit"], pd["limit"])
        mujoco.mj_step(m, d)
        record(t + 1)
    os.makedirs(out, exist_ok=True)
    for name, value in [("qpos", qpos), ("foot_contact", contact), ("min_dist", min_dist), ("energy", energy)]:
        np.save(os.path.join(out, name + ".npy"), value)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "model":
        model_info(sys.argv[2], sys.argv[3])
    elif cmd == "stand":
        stand(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
