//! Cell 3: a shipped Walker2D policy walking, seen from the side.
//!
//! The cell fetches the chosen policy (`notebook::WalkerPolicy`: seed 1, 2 or 3 of issue 17's
//! agents, or the first shipped policy; `models/walker2d-lstm*.safetensors`) and its model card
//! (sha256 and architecture checked by `shipped_policy::load_session`), then runs a
//! `rollout::Session` (one
//! agent, the policy's mean action, our simulator, all in this page's WebAssembly) in a
//! requestAnimationFrame loop: as many 8 ms control steps per frame as the time since the last
//! frame holds, at most [`MAX_STEPS_PER_FRAME`]; beyond that the walk slows down instead of
//! freezing the page. The policy, the commanded speed (a slider) and play/pause live in the
//! notebook document; another policy is loaded in place (the animation restarts with it). A model that is missing, corrupt or of the wrong shape leaves a message here; the
//! other cells do not depend on it. Drawing is plain Canvas 2D from `sim::side_view`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use super::shell::now_ms;
use super::shipped_policy::{ending_text, fmt_opt, load_session};
use super::widgets::{FigureDownloads, WalkerPolicyPicker};
use crate::notebook::{NotebookDoc, WalkerCell, WalkerPolicy};
use crate::rollout::session::Session;
use crate::rollout::walk_log::WALK_LOG_SECS;
use crate::task::gait::GaitSummary;
use crate::task::side_view::{Limb, SidePose};
use crate::task::Robot;

/// The URLs of a policy's weights and card.
pub(crate) fn policy_urls(policy: WalkerPolicy) -> (String, String) {
    let (model, card) = policy.files();
    (format!("models/{model}"), format!("models/{card}"))
}
/// Size of a push (N·s): the top of the trainer's default push range.
const PUSH_IMPULSE_NS: f64 = 8.0;
/// At 60 frames/s a frame holds about 2 control steps; this many leaves room for slow frames.
const MAX_STEPS_PER_FRAME: usize = 8;
/// A frame gap longer than this (a background tab, a debugger) is not caught up.
const MAX_FRAME_GAP_SECS: f64 = 0.1;
/// Seconds a fall message stays up.
const FALL_NOTE_SECS: f64 = 4.0;
pub(crate) const CANVAS_W: f64 = 720.0;
pub(crate) const CANVAS_H: f64 = 300.0;
const PX_PER_M: f64 = 150.0;
const GROUND_PX: f64 = CANVAS_H - 40.0;
const RIGHT_COLOUR: &str = "#d95f02";
const LEFT_COLOUR: &str = "#1b9e77";
const TORSO_COLOUR: &str = "#4a4a58";

/// Where the model stands.
#[derive(Clone, PartialEq)]
enum LoadState {
    Loading,
    Ready(String),
    Failed(String),
}

/// What the page shows under the animation (plain data for a signal).
#[derive(Clone, PartialEq, Default)]
struct Readouts {
    episode_secs: f64,
    /// The command in the policy's observation (obs[17]).
    obs_command_mps: f64,
    measured_speed_mps: Option<f64>,
    speed_window_secs: f64,
    gait: Option<GaitSummary>,
    falls: u64,
    /// Simulated seconds per wall-clock second over the last second of play.
    realtime_factor: Option<f64>,
}

/// The loop's own bookkeeping between frames.
#[derive(Default)]
struct Clock {
    last_ms: Option<f64>,
    /// Simulated time owed to the walker (s).
    owed_secs: f64,
    /// For the real-time factor: wall and simulated seconds since it was last computed.
    wall_secs: f64,
    sim_secs: f64,
    /// Redraw even if no step ran (after a load, reset or resize).
    dirty: bool,
    fall_note_until_ms: f64,
}

/// Draws the ground (ticks scroll with the camera, which follows the torso) and the walker, on a
/// canvas of [`CANVAS_W`] × [`CANVAS_H`] (also the study's Fig. 3 at the scrubbed moment).
pub(crate) fn draw(ctx: &CanvasRenderingContext2d, pose: &SidePose) {
    let camera_x = pose.root_x_m;
    let to_px = |p: [f64; 2]| (CANVAS_W / 2.0 + (p[0] - camera_x) * PX_PER_M, GROUND_PX - p[1] * PX_PER_M);
    ctx.set_fill_style_str("#fcfcfa");
    ctx.fill_rect(0.0, 0.0, CANVAS_W, CANVAS_H);
    // Ground and ticks every 0.5 m, labelled every metre.
    ctx.set_fill_style_str("#ebe8df");
    ctx.fill_rect(0.0, GROUND_PX, CANVAS_W, CANVAS_H - GROUND_PX);
    ctx.set_stroke_style_str("#6b6b6b");
    ctx.set_line_width(2.0);
    ctx.set_line_cap("butt");
    ctx.begin_path();
    ctx.move_to(0.0, GROUND_PX);
    ctx.line_to(CANVAS_W, GROUND_PX);
    ctx.stroke();
    let half_view_m = CANVAS_W / 2.0 / PX_PER_M;
    let first_tick = ((camera_x - half_view_m) / 0.5).floor() as i64;
    let last_tick = ((camera_x + half_view_m) / 0.5).ceil() as i64;
    ctx.set_line_width(1.5);
    ctx.set_fill_style_str("#555");
    ctx.set_font("12px sans-serif");
    ctx.set_text_align("center");
    for k in first_tick..=last_tick {
        let x_m = k as f64 * 0.5;
        let (x, _) = to_px([x_m, 0.0]);
        let long = k % 2 == 0;
        ctx.begin_path();
        ctx.move_to(x, GROUND_PX);
        ctx.line_to(x, GROUND_PX + if long { 12.0 } else { 6.0 });
        ctx.stroke();
        if long {
            let _ = ctx.fill_text(&format!("{} m", k / 2), x, GROUND_PX + 26.0);
        }
    }
    // The walker: the left leg behind, then the torso, then the right leg.
    ctx.set_line_cap("round");
    for limb in [Limb::Left, Limb::Torso, Limb::Right] {
        for c in pose.capsules.iter().filter(|c| c.limb == limb) {
            let colour = match limb {
                Limb::Left => LEFT_COLOUR,
                Limb::Right => RIGHT_COLOUR,
                Limb::Torso => TORSO_COLOUR,
            };
            let (a, b) = (to_px(c.from_m), to_px(c.to_m));
            let in_contact = c.foot_idx.is_some_and(|f| pose.feet_contact.get(f).copied().unwrap_or(false));
            if in_contact {
                // A dark outline marks a foot on the ground.
                ctx.set_stroke_style_str("#111");
                ctx.set_line_width(2.0 * c.radius_m * PX_PER_M + 6.0);
                ctx.begin_path();
                ctx.move_to(a.0, a.1);
                ctx.line_to(b.0, b.1);
                ctx.stroke();
            }
            ctx.set_stroke_style_str(colour);
            ctx.set_line_width(2.0 * c.radius_m * PX_PER_M);
            ctx.begin_path();
            ctx.move_to(a.0, a.1);
            ctx.line_to(b.0, b.1);
            ctx.stroke();
        }
    }
    // Legend.
    ctx.set_text_align("left");
    ctx.set_font("13px sans-serif");
    for (k, (colour, label)) in
        [(RIGHT_COLOUR, "right leg"), (LEFT_COLOUR, "left leg"), ("#111", "outline: foot on the ground")]
            .into_iter()
            .enumerate()
    {
        let y = 20.0 + 18.0 * k as f64;
        ctx.set_fill_style_str(colour);
        ctx.fill_rect(12.0, y - 9.0, 18.0, 10.0);
        ctx.set_fill_style_str("#333");
        let _ = ctx.fill_text(label, 36.0, y);
    }
}

/// The canvas's 2D context. The browser may take its drawing surface away (a `contextlost`
/// event: in headless Chromium this happens now and then while the page's WebGPU devices start)
/// and gives it back blank half a second later (`contextrestored`); the cell then redraws at once.
pub(crate) fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into::<CanvasRenderingContext2d>().ok()
}

/// Everything a frame needs: reactive handles (all `Copy`).
#[derive(Clone, Copy)]
struct Frame {
    doc: RwSignal<NotebookDoc>,
    /// Bumped by every load: a frame loop or a load of an older generation stops.
    generation: StoredValue<u64, LocalStorage>,
    session: StoredValue<Option<Session>, LocalStorage>,
    clock: StoredValue<Clock, LocalStorage>,
    canvas: NodeRef<leptos::html::Canvas>,
    readouts: RwSignal<Readouts>,
    fall_note: RwSignal<Option<String>>,
    run_error: RwSignal<Option<String>>,
}

impl Frame {
    /// One animation frame; false once the cell is gone.
    fn tick(self) -> bool {
        let Some(playing) = self.doc.try_with_untracked(|d| d.walker.playing) else {
            return false;
        };
        let now = now_ms();
        let mut ended = Vec::new();
        let mut failure = None;
        let mut steps_run = 0usize;
        let Some(Some(())) = self.session.try_update_value(|slot| {
            let session = slot.as_mut()?;
            let dt = session.dt_secs();
            self.clock.update_value(|clock| {
                let gap_secs = clock.last_ms.map_or(0.0, |last| ((now - last) / 1000.0).clamp(0.0, MAX_FRAME_GAP_SECS));
                clock.last_ms = Some(now);
                if !playing {
                    clock.owed_secs = 0.0;
                    return;
                }
                clock.owed_secs += gap_secs;
                let due = (clock.owed_secs / dt).floor() as usize;
                steps_run = due.min(MAX_STEPS_PER_FRAME);
                // Time beyond what a frame may run is dropped: the walk slows down.
                clock.owed_secs = if due > MAX_STEPS_PER_FRAME { 0.0 } else { clock.owed_secs - due as f64 * dt };
                clock.wall_secs += gap_secs;
                clock.sim_secs += steps_run as f64 * dt;
            });
            for _ in 0..steps_run {
                match session.step() {
                    Ok(None) => {}
                    Ok(Some(end)) => ended.push(ending_text(Robot::Walker2d, &end.reason, end.after_secs)),
                    Err(e) => {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
            Some(())
        }) else {
            // The cell is gone (the loop starts only once the session exists).
            return false;
        };
        if let Some(e) = failure {
            self.run_error.set(Some(format!("The walker stopped: {e}")));
            self.doc.update(|d| d.walker.playing = false);
        }
        if let Some(note) = ended.pop() {
            self.fall_note.set(Some(note));
            self.clock.update_value(|c| c.fall_note_until_ms = now + FALL_NOTE_SECS * 1000.0);
        } else if self.fall_note.get_untracked().is_some() && now > self.clock.with_value(|c| c.fall_note_until_ms) {
            self.fall_note.set(None);
        }
        let redraw = steps_run > 0 || self.clock.with_value(|c| c.dirty);
        if redraw {
            self.clock.update_value(|c| c.dirty = false);
            self.draw_pose();
            self.update_readouts();
        }
        true
    }

    /// Draws the walker's current pose (nothing before the model is loaded).
    fn draw_pose(self) {
        if let Some(ctx) = self.canvas.get_untracked().as_ref().and_then(context_2d) {
            self.session.update_value(|slot| {
                if let Some(s) = slot.as_mut() {
                    draw(&ctx, &s.side_pose());
                }
            });
        }
    }

    fn update_readouts(self) {
        let mut realtime_factor = self.readouts.get_untracked().realtime_factor;
        self.clock.update_value(|c| {
            if c.wall_secs >= 1.0 {
                realtime_factor = Some(c.sim_secs / c.wall_secs);
                (c.wall_secs, c.sim_secs) = (0.0, 0.0);
            }
        });
        self.session.with_value(|slot| {
            if let Some(s) = slot {
                let gait = s.gait();
                self.readouts.set(Readouts {
                    episode_secs: s.episode_secs(),
                    obs_command_mps: f64::from(s.observation()[17]),
                    measured_speed_mps: s.measured_speed_mps(),
                    speed_window_secs: s.speed_window_filled_secs(),
                    gait: gait.flight_fraction.is_finite().then_some(gait),
                    falls: s.episodes_ended(),
                    realtime_factor,
                });
            }
        });
    }
}

/// Runs the frame loop of load `generation` until the cell is gone or another load starts.
fn schedule(frame: Frame, generation: u64) {
    request_animation_frame(move || {
        let current = frame.generation.try_get_value() == Some(generation);
        if current && frame.tick() {
            schedule(frame, generation);
        }
    });
}

/// Loads `policy` in place of whatever walks now, and starts its frame loop.
fn load_policy(frame: Frame, load: RwSignal<LoadState>, policy: WalkerPolicy) {
    let generation = frame.generation.get_value() + 1;
    frame.generation.set_value(generation);
    frame.session.set_value(None);
    load.set(LoadState::Loading);
    spawn_local(async move {
        let (model_url, card_url) = policy_urls(policy);
        let command = frame.doc.with_untracked(|d| d.walker.command_mps);
        let loaded = load_session(Robot::Walker2d, &model_url, &card_url, &[command]).await;
        if frame.generation.try_get_value() != Some(generation) {
            return; // another policy was picked meanwhile, or the cell is gone
        }
        match loaded {
            Ok((mut session, summary)) => {
                // The slider may have moved while the model loaded.
                let command = frame.doc.with_untracked(|d| d.walker.command_mps);
                if let Err(e) = session.set_command(&[command]) {
                    frame.run_error.set(Some(e.to_string()));
                }
                frame.session.set_value(Some(session));
                frame.clock.update_value(|c| c.dirty = true);
                frame.fall_note.set(None);
                // Draw the first pose before saying "ready", so a ready cell always shows the
                // walker (the animation frames only start on the next repaint).
                let alive = frame.tick();
                load.set(LoadState::Ready(format!("{} · {summary}", policy.label())));
                if alive {
                    schedule(frame, generation);
                }
            }
            Err(e) => load.set(LoadState::Failed(format!("Could not load the walker's policy: {e}"))),
        }
    });
}

#[component]
pub fn WalkerCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().walker);
    let load = RwSignal::new(LoadState::Loading);
    let readouts = RwSignal::new(Readouts::default());
    let fall_note = RwSignal::new(None::<String>);
    let run_error = RwSignal::new(None::<String>);
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let frame = Frame {
        doc,
        generation: StoredValue::new_local(0),
        session: StoredValue::new_local(None),
        clock: StoredValue::new_local(Clock::default()),
        canvas,
        readouts,
        fall_note,
        run_error,
    };

    // A drawing surface the browser took away is drawn again as soon as it comes back, playing
    // or paused; meanwhile the caption says why the picture is blank.
    let surface_lost = RwSignal::new(false);
    let surface_listeners = StoredValue::new_local(Vec::<gloo::events::EventListener>::new());
    Effect::new(move |attached: Option<bool>| {
        if attached == Some(true) {
            return true;
        }
        let Some(el) = canvas.get() else { return false };
        let lost = gloo::events::EventListener::new(&el, "contextlost", move |_| surface_lost.set(true));
        let restored = gloo::events::EventListener::new(&el, "contextrestored", move |_| {
            surface_lost.set(false);
            frame.draw_pose();
        });
        surface_listeners.update_value(|l| l.extend([lost, restored]));
        true
    });

    // The policy follows the document (the picker or a pasted link): loaded again on a change.
    let policy = Memo::new(move |_| doc.get().walker.policy);
    Effect::new(move |_| load_policy(frame, load, policy.get()));

    // The command follows the document (slider or a pasted link) without a reset.
    Effect::new(move |_| {
        let command = cell.get().command_mps;
        frame.session.update_value(|slot| {
            if let Some(s) = slot.as_mut() {
                if s.command() != [command] {
                    if let Err(e) = s.set_command(&[command]) {
                        run_error.set(Some(e.to_string()));
                    }
                }
            }
        });
    });

    let set_speed = move |ev| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            let (lo, hi) = WalkerCell::COMMAND_RANGE_MPS;
            let v = ((v.clamp(lo, hi)) * 100.0).round() / 100.0;
            doc.update(|d| d.walker.command_mps = v);
        }
    };
    let toggle_play = move |_| doc.update(|d| d.walker.playing = !d.walker.playing);
    let reset = move |_| {
        frame.session.update_value(|slot| {
            if let Some(s) = slot.as_mut() {
                if let Err(e) = s.reset() {
                    run_error.set(Some(e.to_string()));
                }
            }
        });
        fall_note.set(None);
        frame.clock.update_value(|c| c.dirty = true);
    };
    let push = move |impulse_ns: f64| {
        move |_| {
            frame.session.update_value(|slot| {
                if let Some(s) = slot.as_mut() {
                    if let Err(e) = s.push(impulse_ns) {
                        run_error.set(Some(e.to_string()));
                    }
                }
            });
        }
    };

    let ready = move || matches!(load.get(), LoadState::Ready(_));
    // Built when asked (a download), from the session's log at that moment.
    let walk_table = Signal::derive(move || {
        if !ready() {
            return None;
        }
        frame.session.with_value(|slot| slot.as_ref().map(|session| session.walk_log().table()))
    });
    let r = move || readouts.get();
    let gait = move |pick: fn(&GaitSummary) -> f64, digits: usize| fmt_opt(r().gait.map(|g| pick(&g)), digits);
    let status_text = move || match load.get() {
        LoadState::Loading => "loading the policy…".to_string(),
        LoadState::Ready(summary) => summary,
        LoadState::Failed(_) => String::new(),
    };
    let (lo, hi) = WalkerCell::COMMAND_RANGE_MPS;

    view! {
        <section class="cell" id="cell-walker">
            <h2>"3 · The trained walker"</h2>
            <p class="explain">
                "A Walker2D policy this repository trained (its LSTM and our simulator, both running here in "
                "WebAssembly) walks at the commanded speed u*, the last entry of its observation. Pick the policy: "
                "seeds 1–3 of one training recipe, or the original one, whose LSTM cell state drifts instead of "
                "cycling (kept for older links). Change u* with the "
                "slider while it walks: the policy adapts its gait without a restart. It should step with both "
                "legs in turn (orange right, green left; a dark outline marks a foot on the ground), not hop or "
                "shuffle. Push it to see it recover; after a fall it restarts by itself. Actions are the policy's "
                "mean (no sampling), without sensor noise, as in the evaluation."
            </p>
            <div class="controls">
                <WalkerPolicyPicker id="walker-policy" value=Signal::derive(move || cell.get().policy)
                    pick=move |p| doc.update(|d| d.walker.policy = p) />
                <label>"commanded speed u* = " <output id="walker-command-value">
                        {move || format!("{:.1} m/s", cell.get().command_mps)}</output>
                    <input id="walker-speed" type="range" min=lo.to_string() max=hi.to_string()
                        step=WalkerCell::COMMAND_STEP_MPS.to_string()
                        prop:value=move || cell.get().command_mps.to_string() on:input=set_speed />
                </label>
                <button id="walker-play" on:click=toggle_play disabled=move || !ready()>
                    {move || if cell.get().playing { "Pause" } else { "Play" }}
                </button>
                <button id="walker-reset" on:click=reset disabled=move || !ready()>"Reset"</button>
                <button id="walker-push-back" on:click=push(-PUSH_IMPULSE_NS) disabled=move || !ready()>
                    {format!("← push {PUSH_IMPULSE_NS:.0} N·s")}</button>
                <button id="walker-push-forward" on:click=push(PUSH_IMPULSE_NS) disabled=move || !ready()>
                    {format!("push {PUSH_IMPULSE_NS:.0} N·s →")}</button>
            </div>
            <p id="walker-status" data-state=move || match load.get() {
                LoadState::Loading => "loading",
                LoadState::Ready(_) => "ready",
                LoadState::Failed(_) => "failed",
            }>{status_text}</p>
            <Show when=move || matches!(load.get(), LoadState::Failed(_))>
                <p id="walker-error" class="error" role="alert">{move || match load.get() {
                    LoadState::Failed(e) => e,
                    _ => String::new(),
                }}</p>
            </Show>
            <Show when=move || run_error.get().is_some()>
                <p id="walker-run-error" class="error" role="alert">{move || run_error.get().unwrap_or_default()}</p>
            </Show>
            <figure>
                <canvas id="walker-canvas" node_ref=canvas width=CANVAS_W.to_string() height=CANVAS_H.to_string()
                    data-playing=move || cell.get().playing.to_string()
                    data-surface=move || if surface_lost.get() { "lost" } else { "ok" }></canvas>
                <figcaption>
                    "Side view; the camera follows the torso, the ground ticks are every 0.5 m. "
                    <span id="walker-surface-note">{move || surface_lost.get().then_some(
                        "The browser took this drawing surface away for a moment; the walker is drawn again when it is back. ")}</span>
                    <span id="walker-fall-note" class="error">{move || fall_note.get().unwrap_or_default()}</span>
                </figcaption>
            </figure>
            <div class="numbers">
                <span>"policy sees u* = "<b id="walker-obs-command">{move || if ready() {
                    format!("{:.2}", r().obs_command_mps) } else { "—".into() }}</b>" m/s"</span>
                <span>"measured speed = "<b id="walker-measured-speed">{move || fmt_opt(r().measured_speed_mps, 2)}</b>
                    {move || format!(" m/s (mean over the last {:.1} s)", r().speed_window_secs)}</span>
                <span>"time in this episode "<b id="walker-time">{move || format!("{:.1}", r().episode_secs)}</b>" s"</span>
                <span>"falls "<b id="walker-falls">{move || r().falls.to_string()}</b></span>
                <span>"simulation at "<b id="walker-realtime">{move || fmt_opt(r().realtime_factor, 2)}</b>" × real time"</span>
            </div>
            <div class="numbers">
                <span>"on the ground (last 4 s): right "<b id="walker-contact-right">{move || gait(|g| g.contact_fraction[0], 2)}</b>
                    ", left "<b id="walker-contact-left">{move || gait(|g| g.contact_fraction[1], 2)}</b>
                    ", neither "<b id="walker-flight">{move || gait(|g| g.flight_fraction, 2)}</b></span>
                <span>"lift-offs per second: right "<b id="walker-liftoffs-right">{move || gait(|g| g.lift_offs_per_sec[0], 2)}</b>
                    ", left "<b id="walker-liftoffs-left">{move || gait(|g| g.lift_offs_per_sec[1], 2)}</b></span>
            </div>
            <p class="explain">{format!("The last {WALK_LOG_SECS:.0} s of this walk, step by step (episode, time, command, \
                velocity, feet on the ground, actions, the LSTM's h and c): ")}
                <FigureDownloads id="walker-log" name="walker2d-walk" table=walk_table /></p>
        </section>
    }
}
