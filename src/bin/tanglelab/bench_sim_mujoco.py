"""MuJoCo baseline for `tanglelab bench sim`: mj_step steps/s on walker2d_v5, one thread.

Scenario (the same as the Rust side): start at qpos0 at rest; every control step (4 physics
steps, via mj_step(m, d, nstep=4)) set ctrl_u = 0.8·sin(2π·2 Hz·t + u) on all six motors; reset to
qpos0 when Gymnasium's health check fails. Prints JSON {"rk4": steps/s, "euler": steps/s,
"resets_rk4": n, "mujoco": version}, each rate the best of `repeats` runs of `seconds`.
Usage: python3 bench_sim_mujoco.py [seconds] [repeats]

Quadruped: python3 bench_sim_mujoco.py quadruped XML [seconds] [repeats], XML our export
(`tanglelab sim export-mjcf --robot quadruped`: Euler, elliptic cone). Its torque motors are
replaced by position actuators with our task's PD law (kp 80, kv 2, force ±80 N·m), so the law
runs inside mj_step; each control step sets ctrl_j = default_j + 0.5·sin(2π·2 Hz·t + j) and
runs mj_step(m, d, nstep=4); reset to the default pose at 0.6 m when the base falls below
0.3 m. Prints {"euler": steps/s, "resets": n, "mujoco": version}.
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


DEFAULT_POSE = [0.0, 0.4, -0.8, 0.0, 0.4, -0.8, 0.0, -0.4, 0.8, 0.0, -0.4, 0.8]


def quadruped_model(xml_path):
    import re

    text = open(xml_path).read()
    text = re.sub(
        r'<motor joint="([^"]+)"[^/]*/>',
        r'<position joint="\1" kp="80" kv="2" forcelimited="true" forcerange="-80 80"/>',
        text,
    )
    return mujoco.MjModel.from_xml_string(text)


def measure_quadruped(m, seconds):
    d = mujoco.MjData(m)

    def reset():
        mujoco.mj_resetData(m, d)
        d.qpos[:7] = [0, 0, 0.6, 1, 0, 0, 0]
        d.qpos[7:] = DEFAULT_POSE

    reset()
    steps = resets = 0
    start = time.perf_counter()
    while True:
        for _ in range(250):
            t = d.time
            for j in range(12):
                d.ctrl[j] = DEFAULT_POSE[j] + 0.5 * math.sin(2 * math.pi * 2.0 * t + j)
            mujoco.mj_step(m, d, nstep=4)
            if d.qpos[2] < 0.3:
                reset()
                resets += 1
        steps += 1000
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return steps / elapsed, resets


if len(sys.argv) > 1 and sys.argv[1] == "quadruped":
    m = quadruped_model(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    rate, resets = max(measure_quadruped(m, seconds) for _ in range(repeats))
    print(json.dumps({"euler": rate, "resets": resets, "mujoco": mujoco.__version__}))
    sys.exit(0)

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
rk4_runs = [measure(mujoco.mjtIntegrator.mjINT_RK4, seconds) for _ in range(repeats)]
rk4, resets = max(rk4_runs)
euler = max(measure(mujoco.mjtIntegrator.mjINT_EULER, seconds)[0] for _ in range(repeats))
print(json.dumps({"rk4": rk4, "euler": euler, "resets_rk4": resets, "mujoco": mujoco.__version__}))
