//! Cell 4: the quadruped in 3D, standing under the task's PD law at the default pose (zero
//! actions: no policy yet), driven by our engine in this page's WebAssembly, with buttons that
//! change the base's velocity in one step (the study's kind of push) and a reset. A fall (base,
//! hip or thigh on the ground: the task's rule) stops the run and says when it happened.
//!
//! Drawing: `sim::shapes` (capsules and spheres in the world) → `plot::mesh3d` meshes, mapped
//! from the engine's z-up frame to the plot's y-up one, in `Plot3d` with the camera following
//! the base. The loop runs as many 20 ms control steps per animation frame as the time since
//! the last frame holds (at most [`MAX_STEPS_PER_FRAME`]).

use leptos::prelude::*;

use super::plot3d::Plot3d;
use super::shell::now_ms;
use crate::plot::lines3d::Segment;
use crate::plot::mesh3d::{capsule, checker_ground, MeshVertex};
use crate::sim::{kinematics, shapes::world_shapes, Data, Model};
use crate::task::{EpisodeSettings, Robot, Task};

const MAX_STEPS_PER_FRAME: usize = 8;
const MAX_FRAME_GAP_SECS: f64 = 0.1;
const BASE_COLOUR: [f32; 3] = [0.33, 0.34, 0.40];
const LEFT_COLOUR: [f32; 3] = [0.11, 0.62, 0.47];
const RIGHT_COLOUR: [f32; 3] = [0.85, 0.37, 0.01];
const GROUND_COLOURS: [[f32; 3]; 2] = [[0.86, 0.87, 0.89], [0.78, 0.79, 0.82]];
/// The push buttons' velocity change (m/s) by default, and the slider's range.
const DEFAULT_PUSH_MPS: f64 = 1.0;
const PUSH_RANGE_MPS: (f64, f64) = (0.2, 3.0);

/// The engine's z-up world point as the plot's y-up one (a rotation about x).
fn to_plot(p: [f64; 3]) -> [f32; 3] {
    [p[0] as f32, p[2] as f32, -p[1] as f32]
}

/// The running robot: one agent of the quadruped task, and the model to draw it.
struct Sim {
    task: Box<dyn Task>,
    model: Model,
    data: Data,
    steps: usize,
    fell_at_secs: Option<f64>,
}

impl Sim {
    fn new(seed: u64) -> Result<Sim, String> {
        let robot = Robot::Quadruped;
        let task = robot.task(1, &EpisodeSettings::evaluation(&[0.0, 0.0, 0.0]), seed).map_err(|e| e.to_string())?;
        let model = robot.model();
        let data = Data::new(&model);
        Ok(Sim { task, model, data, steps: 0, fell_at_secs: None })
    }

    fn secs(&self) -> f64 {
        self.steps as f64 * self.task.spec().control_dt_secs
    }

    fn step(&mut self) -> Result<(), String> {
        if self.fell_at_secs.is_some() {
            return Ok(());
        }
        let actions = vec![0.0f32; self.task.spec().n_actions()];
        let done = self.task.step(&actions).done[0].is_done();
        self.steps += 1;
        if done {
            self.fell_at_secs = Some(self.secs());
        }
        Ok(())
    }

    /// The body's meshes over a ground that scrolls with it, and the base position (plot frame).
    fn scene(&mut self) -> Result<(Vec<MeshVertex>, [f32; 3]), String> {
        let (qpos, _) = self.task.state(0).map_err(|e| e.to_string())?;
        self.data.qpos.copy_from_slice(qpos);
        kinematics::position(&self.model, &mut self.data);
        let base = to_plot([self.data.qpos[0], self.data.qpos[1], self.data.qpos[2]]);
        let mut mesh = Vec::new();
        checker_ground(&mut mesh, [base[0], base[2]], 12, 0.5, GROUND_COLOURS);
        for shape in world_shapes(&self.model, &self.data) {
            let name = &self.model.geom_name[shape.geom];
            let colour = match name.get(..1) {
                _ if shape.body == 1 => BASE_COLOUR,
                Some("L") => LEFT_COLOUR,
                Some("R") => RIGHT_COLOUR,
                _ => BASE_COLOUR,
            };
            capsule(&mut mesh, to_plot(shape.a), to_plot(shape.b), shape.radius as f32, colour);
        }
        Ok((mesh, base))
    }
}

/// What the caption shows.
#[derive(Clone, PartialEq, Default)]
struct Readouts {
    secs: f64,
    base_height_m: f64,
    fell_at_secs: Option<f64>,
}

/// One frame's drawing: meshes, the base position (plot frame) and the caption.
type Drawn = (Vec<MeshVertex>, [f32; 3], Readouts);

#[derive(Clone, Copy)]
struct Frame {
    sim: StoredValue<Option<Sim>, LocalStorage>,
    last_ms: StoredValue<Option<f64>>,
    owed_secs: StoredValue<f64>,
    triangles: RwSignal<Vec<MeshVertex>>,
    base: RwSignal<[f32; 3]>,
    readouts: RwSignal<Readouts>,
    error: RwSignal<Option<String>>,
}

impl Frame {
    /// Steps what the elapsed time owes and redraws; false once the cell is gone.
    fn tick(self) -> bool {
        let now = now_ms();
        let Some(gap) = self.last_ms.try_get_value() else { return false };
        let elapsed = gap.map_or(0.0, |last| ((now - last) / 1000.0).clamp(0.0, MAX_FRAME_GAP_SECS));
        self.last_ms.set_value(Some(now));
        let result = self.sim.try_update_value(|slot| -> Result<Option<Drawn>, String> {
            let Some(sim) = slot.as_mut() else { return Ok(None) };
            let dt = sim.task.spec().control_dt_secs;
            let mut owed = self.owed_secs.get_value() + elapsed;
            let mut n = 0;
            while owed >= dt && n < MAX_STEPS_PER_FRAME {
                sim.step()?;
                owed -= dt;
                n += 1;
            }
            self.owed_secs.set_value(owed.min(dt));
            let (mesh, base) = sim.scene()?;
            let readouts =
                Readouts { secs: sim.secs(), base_height_m: sim.data.qpos[2], fell_at_secs: sim.fell_at_secs };
            Ok(Some((mesh, base, readouts)))
        });
        match result {
            None => return false,
            Some(Ok(Some((mesh, base, readouts)))) => {
                self.base.set(base);
                self.triangles.set(mesh);
                self.readouts.set(readouts);
            }
            Some(Ok(None)) => {}
            Some(Err(e)) => self.error.set(Some(e)),
        }
        true
    }
}

fn schedule(frame: Frame) {
    request_animation_frame(move || {
        if frame.tick() {
            schedule(frame);
        }
    });
}

#[component]
pub fn QuadrupedCellView() -> impl IntoView {
    let frame = Frame {
        sim: StoredValue::new_local(None),
        last_ms: StoredValue::new(None),
        owed_secs: StoredValue::new(0.0),
        triangles: RwSignal::new(Vec::new()),
        base: RwSignal::new([0.0, 0.6, 0.0]),
        readouts: RwSignal::new(Readouts::default()),
        error: RwSignal::new(None),
    };
    let push_mps = RwSignal::new(DEFAULT_PUSH_MPS);
    let resets = StoredValue::new(0u64);
    let start = move || match Sim::new(resets.get_value()) {
        Ok(sim) => {
            frame.sim.set_value(Some(sim));
            frame.owed_secs.set_value(0.0);
            frame.error.set(None);
        }
        Err(e) => frame.error.set(Some(format!("Could not build the quadruped: {e}"))),
    };
    start();
    if frame.tick() {
        schedule(frame);
    }
    let push = move |direction: [f64; 2]| {
        let dv = push_mps.get_untracked();
        frame.sim.update_value(|slot| {
            if let Some(sim) = slot.as_mut() {
                if let Err(e) = sim.task.change_base_velocity(0, [dv * direction[0], dv * direction[1], 0.0]) {
                    frame.error.set(Some(e.to_string()));
                }
            }
        });
    };
    let reset = move |_| {
        resets.update_value(|n| *n += 1);
        start();
    };
    let set_push = move |ev| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            push_mps.set(v.clamp(PUSH_RANGE_MPS.0, PUSH_RANGE_MPS.1));
        }
    };
    let no_lines = Signal::derive(Vec::<Segment>::new);
    let readouts = frame.readouts;
    view! {
        <section class="cell" id="cell-quadruped">
            <h2>"4 · The quadruped: standing, pushed, falling"</h2>
            <p class="note">
                "An ANYmal-C-like body in our engine (19.2 kg base, four legs of hip, thigh and shank; checked against MuJoCo in the tests), "
                "holding its default pose under the task's PD law (τ = 80 (q₀ − q) − 2 q̇, no policy yet). "
                "A push changes the base's velocity in one step; a fall (base, hip or thigh on the ground) stops the run. "
                "The shapes drawn are the collision shapes (each shank's capsule stops 10 cm above its foot sphere, so that in a stance only the feet touch the ground). "
                "Drag to orbit, wheel to zoom; the camera follows the base."
            </p>
            <Plot3d id="quadruped-3d" segments=no_lines triangles=frame.triangles.into() follow=frame.base.into() />
            <div class="controls">
                <label>"push " <input id="quadruped-push-size" type="range" min=PUSH_RANGE_MPS.0 max=PUSH_RANGE_MPS.1 step="0.1"
                    prop:value=move || push_mps.get() on:input=set_push /> {move || format!(" {:.1} m/s", push_mps.get())}</label>
                <button id="quadruped-push-forward" on:click=move |_| push([1.0, 0.0])>"push forward"</button>
                <button id="quadruped-push-sideways" on:click=move |_| push([0.0, 1.0])>"push sideways"</button>
                <button id="quadruped-reset" on:click=reset>"reset"</button>
            </div>
            <p id="quadruped-readout" data-secs=move || format!("{:.2}", readouts.get().secs)
                data-fell=move || readouts.get().fell_at_secs.is_some().to_string()>
                {move || {
                    let r = readouts.get();
                    let state = match r.fell_at_secs {
                        Some(t) => format!("fell after {t:.2} s"),
                        None => "standing".into(),
                    };
                    format!("t = {:.1} s · base height {:.3} m · {state}", r.secs, r.base_height_m)
                }}
            </p>
            <Show when=move || frame.error.get().is_some()>
                <p class="error">{move || frame.error.get().unwrap_or_default()}</p>
            </Show>
        </section>
    }
}
