//! Cell 4: the shipped quadruped policy following a body-velocity command (u*, v*, r*), in 3D.
//!
//! The cell fetches `models/quadruped-lstm-seed1.safetensors` and its card (checked by
//! `shipped_policy::load_session`) and runs a [`Session`] of the quadruped (the policy's mean
//! action, our engine, this page's WebAssembly): as many 20 ms control steps per animation frame
//! as the time since the last frame holds, at most [`MAX_STEPS_PER_FRAME`]. The three command
//! sliders live in the notebook document (links carry them) and reach the policy's observation at
//! once, the LSTM state kept. The push buttons change the base's velocity in one step (the study's
//! kind of push); a fall (base, hip or thigh on the ground) is reported and the episode restarts.
//!
//! Drawing: `sim::shapes` (capsules and spheres in the world) → `plot::mesh3d` meshes, mapped
//! from the engine's z-up frame to the plot's y-up one, in `Plot3d` with the camera following
//! the base.

use crate::fmath::FloatExt;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::plot3d::{FigureLabels, Plot3d};
use super::shell::now_ms;
use super::shipped_policy::{ending_text, fmt_opt, load_session};
use super::widgets::FigureDownloads;
use crate::notebook::{NotebookDoc, QuadrupedCell};
use crate::plot::lines3d::Segment;
use crate::plot::mesh3d::{capsule, checker_ground, MeshVertex, GROUND_COLOURS};
use crate::rollout::session::Session;
use crate::rollout::walk_log::WALK_LOG_SECS;
use crate::sim::{kinematics, shapes::world_shapes, Data};
use crate::task::gait::GaitSummary;
use crate::task::Robot;

pub(crate) const MODEL_URL: &str = "models/quadruped-lstm-seed1.safetensors";
pub(crate) const CARD_URL: &str = "models/quadruped-lstm-seed1.card.json";
const MAX_STEPS_PER_FRAME: usize = 8;
const MAX_FRAME_GAP_SECS: f64 = 0.1;
/// Seconds a fall message stays up.
const FALL_NOTE_SECS: f64 = 4.0;
const BASE_COLOUR: [f32; 3] = [0.33, 0.34, 0.40];
const LEFT_COLOUR: [f32; 3] = [0.11, 0.62, 0.47];
const RIGHT_COLOUR: [f32; 3] = [0.85, 0.37, 0.01];
/// The push buttons' velocity change (m/s) by default, and the slider's range.
const DEFAULT_PUSH_MPS: f64 = 1.0;
const PUSH_RANGE_MPS: (f64, f64) = (0.2, 3.0);
/// The task's foot order (the reference foot first).
const FEET: [&str; 4] = ["RF", "LF", "LH", "RH"];

/// The engine's z-up world point as the plot's y-up one (a rotation about x).
fn to_plot(p: [f64; 3]) -> [f32; 3] {
    [p[0] as f32, p[2] as f32, -p[1] as f32]
}

/// The body's meshes over a ground that scrolls with it, and the base position (plot frame).
fn scene(session: &Session, data: &mut Data) -> (Vec<MeshVertex>, [f32; 3]) {
    let model = session.model();
    data.qpos.copy_from_slice(session.state().0);
    kinematics::position(model, data);
    let base = to_plot([data.qpos[0], data.qpos[1], data.qpos[2]]);
    let mut mesh = Vec::new();
    checker_ground(&mut mesh, [base[0], base[2]], 12, 0.5, GROUND_COLOURS);
    for shape in world_shapes(model, data) {
        let colour = match model.geom_name[shape.geom].get(..1) {
            _ if shape.body == 1 => BASE_COLOUR,
            Some("L") => LEFT_COLOUR,
            Some("R") => RIGHT_COLOUR,
            _ => BASE_COLOUR,
        };
        capsule(&mut mesh, to_plot(shape.a), to_plot(shape.b), shape.radius as f32, colour);
    }
    (mesh, base)
}

/// Where the model stands.
#[derive(Clone, PartialEq)]
enum LoadState {
    Loading,
    Ready(String),
    Failed(String),
}

/// What the caption shows.
#[derive(Clone, PartialEq, Default)]
struct Readouts {
    episode_secs: f64,
    base_height_m: f64,
    /// The command in the policy's observation (obs[9..12]).
    obs_command: [f64; 3],
    /// Mean u, v, r over the last seconds of the episode.
    measured: Option<[f64; 3]>,
    window_secs: f64,
    gait: Option<GaitSummary>,
    falls: u64,
}

#[derive(Clone, Copy)]
struct Frame {
    session: StoredValue<Option<(Session, Data)>, LocalStorage>,
    last_ms: StoredValue<Option<f64>>,
    owed_secs: StoredValue<f64>,
    fall_note_until_ms: StoredValue<f64>,
    triangles: RwSignal<Vec<MeshVertex>>,
    base: RwSignal<[f32; 3]>,
    readouts: RwSignal<Readouts>,
    fall_note: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
}

impl Frame {
    /// Steps what the elapsed time owes and redraws; false once the cell is gone.
    fn tick(self) -> bool {
        let now = now_ms();
        let Some(gap) = self.last_ms.try_get_value() else { return false };
        let elapsed = gap.map_or(0.0, |last| ((now - last) / 1000.0).clamp(0.0, MAX_FRAME_GAP_SECS));
        self.last_ms.set_value(Some(now));
        let mut ended = None;
        let result = self.session.try_update_value(|slot| -> Result<bool, String> {
            let Some((session, data)) = slot.as_mut() else { return Ok(false) };
            let dt = session.dt_secs();
            let mut owed = self.owed_secs.get_value() + elapsed;
            let mut n = 0;
            while owed >= dt && n < MAX_STEPS_PER_FRAME {
                if let Some(end) = session.step().map_err(|e| e.to_string())? {
                    ended = Some(ending_text(Robot::Quadruped, &end.reason, end.after_secs));
                }
                owed -= dt;
                n += 1;
            }
            self.owed_secs.set_value(owed.fmin(dt));
            let (mesh, base) = scene(session, data);
            let obs = session.observation();
            let gait = session.gait();
            self.readouts.set(Readouts {
                episode_secs: session.episode_secs(),
                base_height_m: session.state().0[2],
                obs_command: [9, 10, 11].map(|k| f64::from(obs[k])),
                measured: session.measured_velocity(),
                window_secs: session.speed_window_filled_secs(),
                gait: gait.flight_fraction.is_finite().then_some(gait),
                falls: session.episodes_ended(),
            });
            self.base.set(base);
            self.triangles.set(mesh);
            Ok(true)
        });
        match result {
            None => return false,
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                self.error.set(Some(format!("The quadruped stopped: {e}")));
                self.session.set_value(None);
            }
        }
        if let Some(note) = ended {
            self.fall_note.set(Some(note));
            self.fall_note_until_ms.set_value(now + FALL_NOTE_SECS * 1000.0);
        } else if self.fall_note.get_untracked().is_some() && now > self.fall_note_until_ms.get_value() {
            self.fall_note.set(None);
        }
        true
    }

    fn with_session(self, f: impl FnOnce(&mut Session) -> Result<(), String>) {
        self.session.update_value(|slot| {
            if let Some((s, _)) = slot.as_mut() {
                if let Err(e) = f(s) {
                    self.error.set(Some(e));
                }
            }
        });
    }
}

fn schedule(frame: Frame) {
    request_animation_frame(move || {
        if frame.tick() {
            schedule(frame);
        }
    });
}

/// One command slider: the element id, its label and unit, range and step.
struct Slider {
    id: &'static str,
    label: &'static str,
    unit: &'static str,
    range: (f64, f64),
    step: f64,
}

/// A command slider bound to one field of the document's quadruped cell.
fn command_slider(
    doc: RwSignal<NotebookDoc>,
    Slider { id, label, unit, range, step }: Slider,
    get: fn(&QuadrupedCell) -> f64,
    set: fn(&mut QuadrupedCell, f64),
) -> impl IntoView {
    let on_input = move |ev| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            let v = (v.clamp(range.0, range.1) * 100.0).round() / 100.0;
            doc.update(|d| set(&mut d.quadruped, v));
        }
    };
    view! {
        <label>{label} " = " <output id=format!("{id}-value")>{move || format!("{:+.2} {unit}", doc.with(|d| get(&d.quadruped)))}</output>
            <input id=id type="range" min=range.0.to_string() max=range.1.to_string() step=step.to_string()
                prop:value=move || doc.with(|d| get(&d.quadruped)).to_string() on:input=on_input />
        </label>
    }
}

#[component]
pub fn QuadrupedCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let load = RwSignal::new(LoadState::Loading);
    let frame = Frame {
        session: StoredValue::new_local(None),
        last_ms: StoredValue::new(None),
        owed_secs: StoredValue::new(0.0),
        fall_note_until_ms: StoredValue::new(0.0),
        triangles: RwSignal::new(Vec::new()),
        base: RwSignal::new([0.0, 0.6, 0.0]),
        readouts: RwSignal::new(Readouts::default()),
        fall_note: RwSignal::new(None),
        error: RwSignal::new(None),
    };
    spawn_local(async move {
        let command = doc.with_untracked(|d| d.quadruped.command());
        match load_session(Robot::Quadruped, MODEL_URL, CARD_URL, &command).await {
            Ok((mut session, summary)) => {
                // The sliders may have moved while the model loaded.
                let command = doc.with_untracked(|d| d.quadruped.command());
                if let Err(e) = session.set_command(&command) {
                    frame.error.set(Some(e.to_string()));
                }
                let data = Data::new(session.model());
                frame.session.set_value(Some((session, data)));
                let alive = frame.tick();
                load.set(LoadState::Ready(summary));
                if alive {
                    schedule(frame);
                }
            }
            Err(e) => load.set(LoadState::Failed(format!("Could not load the quadruped's policy: {e}"))),
        }
    });
    // The command follows the document (sliders or a pasted link) without a reset.
    Effect::new(move |_| {
        let command = doc.with(|d| d.quadruped.command());
        frame.with_session(|s| {
            if s.command() != command {
                s.set_command(&command).map_err(|e| e.to_string())
            } else {
                Ok(())
            }
        });
    });
    let push_mps = RwSignal::new(DEFAULT_PUSH_MPS);
    let push = move |direction: [f64; 2]| {
        let dv = push_mps.get_untracked();
        frame.with_session(|s| {
            s.change_base_velocity([dv * direction[0], dv * direction[1], 0.0]).map_err(|e| e.to_string())
        });
    };
    let reset = move |_| {
        frame.with_session(|s| s.reset().map_err(|e| e.to_string()));
        frame.fall_note.set(None);
    };
    let set_push = move |ev| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            push_mps.set(v.clamp(PUSH_RANGE_MPS.0, PUSH_RANGE_MPS.1));
        }
    };
    let no_lines = Signal::derive(Vec::<Segment>::new);
    let readouts = frame.readouts;
    let r = move || readouts.get();
    let ready = move || matches!(load.get(), LoadState::Ready(_));
    // Built when asked (a download), from the session's log at that moment.
    let walk_table = Signal::derive(move || {
        if !ready() {
            return None;
        }
        frame.session.with_value(|slot| slot.as_ref().map(|(session, _)| session.walk_log().table()))
    });
    let measured = move |k: usize, digits: usize| fmt_opt(r().measured.map(|m| m[k]), digits);
    let contact = move |k: usize| fmt_opt(r().gait.map(|g| g.contact_fraction[k]), 2);
    let contacts = move || {
        FEET.iter()
            .enumerate()
            .map(|(k, name)| view! { <span>{format!("{name} ")}<b id=format!("quadruped-contact-{}", name.to_lowercase())>{move || contact(k)}</b>" "</span> })
            .collect_view()
    };
    view! {
        <section class="cell" id="cell-quadruped">
            <h2>"4 · The trained quadruped: following u*, v*, r*"</h2>
            <p class="explain">
                "An ANYmal-C-like body in our engine (19.2 kg base, four legs of hip, thigh and shank; checked against MuJoCo in the tests) "
                "under the LSTM policy this repository trained (PPO, seed 1): it follows a forward velocity u*, a sideways velocity v* "
                "and a turning rate r*, which reach its observation at once while it walks. Actions are the policy's mean, without "
                "sensor noise, tracked by the task's PD law at 50 Hz. A push changes the base's velocity in one step (the study's "
                "perturbation); after a fall (base, hip or thigh on the ground) the episode restarts. The card's evaluation: every "
                "translation within 10 % of its command, turning short of it (0.18 and −0.30 rad/s for ±0.25); see the model card. "
                "The shapes drawn are the collision shapes. Drag to orbit, wheel to zoom; the camera follows the base."
            </p>
            <div class="controls">
                {command_slider(doc, Slider { id: "quadruped-u", label: "u*", unit: "m/s", range: QuadrupedCell::U_RANGE_MPS, step: 0.1 }, |c| c.u_mps, |c, v| c.u_mps = v)}
                {command_slider(doc, Slider { id: "quadruped-v", label: "v*", unit: "m/s", range: QuadrupedCell::V_RANGE_MPS, step: 0.1 }, |c| c.v_mps, |c, v| c.v_mps = v)}
                {command_slider(doc, Slider { id: "quadruped-r", label: "r*", unit: "rad/s", range: QuadrupedCell::R_RANGE_RADPS, step: 0.05 }, |c| c.r_radps, |c, v| c.r_radps = v)}
            </div>
            <div class="controls">
                <label>"push " <input id="quadruped-push-size" type="range" min=PUSH_RANGE_MPS.0 max=PUSH_RANGE_MPS.1 step="0.1"
                    prop:value=move || push_mps.get() on:input=set_push /> {move || format!(" {:.1} m/s", push_mps.get())}</label>
                <button id="quadruped-push-forward" on:click=move |_| push([1.0, 0.0]) disabled=move || !ready()>"push forward"</button>
                <button id="quadruped-push-sideways" on:click=move |_| push([0.0, 1.0]) disabled=move || !ready()>"push sideways"</button>
                <button id="quadruped-reset" on:click=reset disabled=move || !ready()>"reset"</button>
            </div>
            <p id="quadruped-status" data-state=move || match load.get() {
                LoadState::Loading => "loading",
                LoadState::Ready(_) => "ready",
                LoadState::Failed(_) => "failed",
            }>{move || match load.get() {
                LoadState::Loading => "loading the policy…".to_string(),
                LoadState::Ready(summary) => summary,
                LoadState::Failed(_) => String::new(),
            }}</p>
            <Show when=move || matches!(load.get(), LoadState::Failed(_))>
                <p id="quadruped-error" class="error" role="alert">{move || match load.get() {
                    LoadState::Failed(e) => e,
                    _ => String::new(),
                }}</p>
            </Show>
            <Plot3d id="quadruped-3d" segments=no_lines triangles=frame.triangles.into() follow=frame.base.into()
                labels=Signal::derive(move || {
                    let c = doc.with(|d| d.quadruped.clone());
                    FigureLabels { title: format!("Quadruped under the shipped policy: u* = {} m/s, v* = {} m/s, r* = {} rad/s", c.u_mps, c.v_mps, c.r_radps), ..Default::default() }
                }) />
            <p id="quadruped-readout" data-secs=move || format!("{:.2}", r().episode_secs)
                data-falls=move || r().falls.to_string()>
                <span id="quadruped-fall-note" class="error">{move || frame.fall_note.get().unwrap_or_default()}</span>
            </p>
            <div class="numbers">
                <span>"policy sees (u*, v*, r*) = "<b id="quadruped-obs-command">{move || if ready() {
                    let c = r().obs_command; format!("({:+.2}, {:+.2}, {:+.2})", c[0], c[1], c[2]) } else { "—".into() }}</b></span>
                <span>"measured u "<b id="quadruped-measured-u">{move || measured(0, 2)}</b>
                    ", v "<b id="quadruped-measured-v">{move || measured(1, 2)}</b>" m/s"
                    ", r "<b id="quadruped-measured-r">{move || measured(2, 3)}</b>
                    {move || format!(" rad/s (means over the last {:.1} s)", r().window_secs)}</span>
            </div>
            <div class="numbers">
                <span>"time in this episode "<b id="quadruped-time">{move || format!("{:.1}", r().episode_secs)}</b>" s"</span>
                <span>"base height "<b id="quadruped-height">{move || format!("{:.3}", r().base_height_m)}</b>" m"</span>
                <span>"falls "<b id="quadruped-falls">{move || r().falls.to_string()}</b></span>
                <span>"feet on the ground (share of the last 4 s): "{contacts}</span>
            </div>
            <p class="explain">{format!("The last {WALK_LOG_SECS:.0} s of this walk, step by step (episode, time, command, \
                base velocity, feet on the ground, actions, the LSTM's h and c): ")}
                <FigureDownloads id="quadruped-log" name="quadruped-walk" table=walk_table /></p>
            <Show when=move || frame.error.get().is_some()>
                <p class="error" role="alert">{move || frame.error.get().unwrap_or_default()}</p>
            </Show>
        </section>
    }
}
