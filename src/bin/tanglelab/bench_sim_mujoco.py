"""MuJoCo baseline for `tanglelab bench sim`: mj_step steps/s on walker2d_v5, one thread.

Scenario (the same as the Rust side): start at qpos0 at rest; every control step (4 physics
steps, via mj_step(m, d, nstep=4)) set ctrl_u = 0.8·sin(2π·2 Hz·t + u) on all six motors; reset to
qpos0 when Gymnasium's health check fails. Prints JSON {"rk4": steps/s, "euler": steps/s,
"resets_rk4": n, "mujoco": version}, each rate the best of `repeats` runs of `seconds`.
Usage: python3 bench_sim_mujoco.py [seconds] [repeats]
"""
import json
import math
import os
import sys
import time

import gymnasium
import mujoco


def measure(integrator, seconds):
    xml = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets", "walker2d_v5.xml")
    m = mujoco.MjModel.from_xml_path(xml)
    m.opt.integrator = integrator
    d = mujoco.MjData(m)
    steps = resets = 0
    start = time.perf_counter()
    while True:
        for _ in range(250):
            t = d.time
            for u in range(6):
                d.ctrl[u] = 0.8 * math.sin(2 * math.pi * 2.0 * t + u)
            mujoco.mj_step(m, d, nstep=4)
            z, angle = d.qpos[1], d.qpos[2]
            if not (0.8 < z < 2.0 and -1.0 < angle < 1.0):
                mujoco.mj_resetData(m, d)
                resets += 1
        steps += 1000
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed, resets


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
rk4_runs = [measure(mujoco.mjtIntegrator.mjINT_RK4, seconds) for _ in range(repeats)]
rk4, resets = max(rk4_runs)
euler = max(measure(mujoco.mjtIntegrator.mjINT_EULER, seconds)[0] for _ in range(repeats))
print(json.dumps({"rk4": rk4, "euler": euler, "resets_rk4": resets, "mujoco": mujoco.__version__}))
