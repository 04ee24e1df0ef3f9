//! Cell 2: the policy on both backends. N agents × T steps of seeded random observations run
//! through seeded random weights on the CPU (wasm, one thread) and, where the browser has WebGPU,
//! on the GPU; the cell shows agent-steps/s for each and the largest difference of actions, h
//! and c between them.
//!
//! The work goes in chunks of about [`compare::CHUNK_AGENT_STEPS`] agent-steps with a yield to
//! the event loop between them, so the page stays responsive, shows progress and can cancel.
//! The GPU device is the cell's own, from a WebGPU-only instance (in headless Chromium a device
//! that presented to a canvas cannot map buffers), opened at the first Run and kept with its
//! instance and adapter. A device opened while the page starts was lost at once in headless
//! Chromium ("Device was destroyed", no `destroy()` call; cause not found), hence the late open;
//! a lost device is forgotten and the next Run opens another. Numerics live in
//! `policy::compare`; this file only calls the policy API and formats.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::shell::now_ms;
use crate::gpu::GpuContext;
use crate::notebook::{NetSize, NotebookDoc, PolicyBackends, PolicyCell};
use crate::policy::compare::{self, ObservationStream, RolloutDiff};
use crate::policy::{CpuPolicy, GpuPolicy, Policy, PolicyWeights};

/// What the probe for WebGPU found.
#[derive(Clone, PartialEq)]
enum GpuStatus {
    Probing,
    Ready(String),
    Unavailable(String),
}

/// What a run measured (plain data, so it can live in a signal).
#[derive(Clone, PartialEq, Default)]
struct RunReport {
    n_agents: usize,
    steps_done: usize,
    n_steps: usize,
    net: String,
    /// Agent-steps per second.
    cpu_rate: Option<f64>,
    gpu_rate: Option<f64>,
    diff: Option<RolloutDiff>,
    cancelled: bool,
    /// Why a backend did not run, or an error that stopped the run.
    notes: Vec<String>,
}

/// The cell's WebGPU device, with the instance it came from: dropping the instance in the
/// browser invalidates the device ("A valid external Instance reference no longer exists").
struct CellGpu {
    _instance: wgpu::Instance,
    _adapter: wgpu::Adapter,
    ctx: GpuContext,
}

thread_local! {
    /// The cell's device, opened at the first Run that wants the GPU and kept for later runs.
    static CELL_GPU: std::cell::RefCell<Option<Rc<CellGpu>>> = const { std::cell::RefCell::new(None) };
}

/// A WebGPU device of the cell's own (never GL: the two backends are never in one instance).
async fn open_webgpu() -> Result<CellGpu, String> {
    if !wgpu::util::is_browser_webgpu_supported().await {
        return Err("this browser does not offer WebGPU".into());
    }
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::BROWSER_WEBGPU;
    let instance = wgpu::Instance::new(desc);
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions::default())
        .await
        .map_err(|e| format!("no WebGPU adapter ({e})"))?;
    // WebGPU's default limits (256 MiB buffers) are enough for 1024 agents of the paper's policy.
    let required_limits = wgpu::Limits::default();
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("tanglelab policy cell"),
            required_limits,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("could not open the WebGPU device ({e})"))?;
    // A lost device is forgotten, so the next Run opens a fresh one.
    device.set_device_lost_callback(|_reason, _message| {
        CELL_GPU.with(|slot| slot.borrow_mut().take());
    });
    let ctx = GpuContext { device, queue, adapter_info: adapter.get_info() };
    let adapter_kept = adapter;
    // Validation errors must be seen (and fail the browser tests), not swallowed.
    ctx.device.on_uncaptured_error(std::sync::Arc::new(|error: wgpu::Error| {
        web_sys::console::error_1(&format!("WebGPU error in the policy cell: {error}").into());
    }));
    Ok(CellGpu { _instance: instance, _adapter: adapter_kept, ctx })
}

fn describe(ctx: &GpuContext) -> String {
    let name = &ctx.adapter_info.name;
    if name.is_empty() {
        "WebGPU · browser adapter".into()
    } else {
        format!("WebGPU · {name}")
    }
}

/// Runs the cell's work chunk by chunk; `progress` gets the steps done, `cancel` is read between
/// chunks. Errors end the run with what was measured so far and a note.
async fn run(
    cell: PolicyCell,
    gpu: Option<Rc<CellGpu>>,
    gpu_unavailable: Option<String>,
    progress: RwSignal<usize>,
    cancel: RwSignal<bool>,
) -> RunReport {
    let (n, n_steps) = (cell.n_agents, cell.n_steps);
    let mut report = RunReport { n_agents: n, n_steps, net: cell.net.label(), ..Default::default() };
    let weights = PolicyWeights::random(&cell.net.shape(), cell.seed);
    let want_gpu = cell.backends != PolicyBackends::Cpu;
    let want_cpu = cell.backends != PolicyBackends::Gpu || gpu.is_none();
    let mut cpu = None;
    if want_cpu {
        match CpuPolicy::new(&weights, n) {
            Ok(p) => cpu = Some(Policy::Cpu(p)),
            Err(e) => report.notes.push(format!("CPU: {e}")),
        }
    }
    let mut gpu_policy = None;
    if want_gpu {
        match &gpu {
            Some(g) => match GpuPolicy::new(&g.ctx, &weights, n) {
                Ok(p) => gpu_policy = Some(Policy::Gpu(p)),
                Err(e) => report.notes.push(format!("WebGPU could not run this policy: {e}")),
            },
            None => report.notes.push(format!(
                "GPU unavailable ({}): ran on the CPU only.",
                gpu_unavailable.unwrap_or_else(|| "no WebGPU device".into())
            )),
        }
    }
    if cell.backends == PolicyBackends::Gpu && gpu_policy.is_some() {
        cpu = None;
    }
    let n_obs = weights.shape().n_obs;
    let mut obs_stream = ObservationStream::new(cell.seed.wrapping_add(1));
    let chunk = compare::chunk_steps(n, n_steps);
    let (mut cpu_ms, mut gpu_ms) = (0.0, 0.0);
    let mut diff = (cpu.is_some() && gpu_policy.is_some()).then(RolloutDiff::default);
    let mut t0 = 0;
    while t0 < n_steps {
        if cancel.get_untracked() {
            report.cancelled = true;
            break;
        }
        let k = chunk.min(n_steps - t0);
        let obs = obs_stream.next_steps(k, n, n_obs);
        let mut cpu_out = None;
        if let Some(p) = &mut cpu {
            let start = now_ms();
            match p.run_open_loop(obs.view()).await {
                Ok(out) => cpu_out = Some(out),
                Err(e) => {
                    report.notes.push(format!("CPU run failed: {e}"));
                    break;
                }
            }
            cpu_ms += now_ms() - start;
        }
        if let Some(p) = &mut gpu_policy {
            let start = now_ms();
            match p.run_open_loop(obs.view()).await {
                Ok(out) => {
                    gpu_ms += now_ms() - start;
                    if let (Some(d), Some(c)) = (&mut diff, &cpu_out) {
                        match c.max_abs_diff(&out) {
                            Ok(chunk_diff) => *d = d.merge(chunk_diff),
                            Err(e) => {
                                report.notes.push(format!("comparison failed: {e}"));
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    report.notes.push(format!("WebGPU run failed: {e}"));
                    break;
                }
            }
        }
        t0 += k;
        progress.set(t0);
        // Let the page draw and handle clicks (Cancel) before the next chunk.
        gloo::timers::future::TimeoutFuture::new(0).await;
    }
    report.steps_done = t0;
    let rate = |ms: f64| compare::agent_steps_per_sec(n, t0, ms / 1000.0);
    report.cpu_rate = cpu.is_some().then(|| rate(cpu_ms));
    report.gpu_rate = gpu_policy.is_some().then(|| rate(gpu_ms));
    report.diff = diff.filter(|_| t0 > 0);
    report
}

fn fmt_rate(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r.is_finite() => format!("{r:.0}"),
        Some(_) => "—".into(),
        None => "not run".into(),
    }
}

fn fmt_diff(v: Option<f32>) -> String {
    v.map(|d| format!("{d:.2e}")).unwrap_or_else(|| "—".into())
}

#[component]
pub fn PolicyCellView(doc: RwSignal<NotebookDoc>) -> impl IntoView {
    let cell = Memo::new(move |_| doc.get().policy);
    let gpu_status = RwSignal::new(GpuStatus::Probing);
    let running = RwSignal::new(false);
    let cancel = RwSignal::new(false);
    let progress = RwSignal::new(0usize);
    let total = RwSignal::new(0usize);
    let report = RwSignal::new(None::<RunReport>);
    let input_note = RwSignal::new(None::<String>);

    // Only a probe here: the device itself is opened at the first Run (one opened while the
    // page starts was destroyed by headless Chromium soon after, "Device was destroyed").
    spawn_local(async move {
        if wgpu::util::is_browser_webgpu_supported().await {
            gpu_status.set(GpuStatus::Ready("WebGPU available".into()));
        } else {
            gpu_status.set(GpuStatus::Unavailable("this browser does not offer WebGPU".into()));
        }
    });

    let start = move |_| {
        if running.get_untracked() {
            return;
        }
        let params = cell.get_untracked();
        running.set(true);
        cancel.set(false);
        progress.set(0);
        total.set(params.n_steps);
        spawn_local(async move {
            let mut ctx = CELL_GPU.with(|slot| slot.borrow().clone());
            let wants_gpu = params.backends != PolicyBackends::Cpu;
            if ctx.is_none() && wants_gpu && matches!(gpu_status.get_untracked(), GpuStatus::Ready(_)) {
                match open_webgpu().await {
                    Ok(g) => {
                        gpu_status.set(GpuStatus::Ready(describe(&g.ctx)));
                        let g = Rc::new(g);
                        CELL_GPU.with(|slot| *slot.borrow_mut() = Some(g.clone()));
                        ctx = Some(g);
                    }
                    Err(e) => gpu_status.set(GpuStatus::Unavailable(e)),
                }
            }
            let unavailable = match gpu_status.get_untracked() {
                GpuStatus::Unavailable(e) => Some(e),
                _ => None,
            };
            let r = run(params, ctx, unavailable, progress, cancel).await;
            report.set(Some(r));
            running.set(false);
        });
    };

    let number_input = move |range: (usize, usize), what: &'static str, apply: fn(&mut PolicyCell, usize)| {
        move |ev| {
            let (lo, hi) = range;
            match event_target_value(&ev).trim().parse::<usize>() {
                Ok(v) if (lo..=hi).contains(&v) => {
                    input_note.set(None);
                    doc.update(|d| apply(&mut d.policy, v));
                }
                _ => input_note.set(Some(format!("{what} must be a whole number from {lo} to {hi}."))),
            }
        }
    };
    let set_agents = number_input(PolicyCell::AGENTS_RANGE, "Agents", |c, v| c.n_agents = v);
    let set_steps = number_input(PolicyCell::STEPS_RANGE, "Steps", |c, v| c.n_steps = v);
    let set_seed = move |ev| match event_target_value(&ev).trim().parse::<u64>() {
        Ok(seed) => {
            input_note.set(None);
            doc.update(|d| d.policy.seed = seed);
        }
        Err(_) => input_note.set(Some("The seed must be a whole number from 0 to 2⁶⁴ − 1.".into())),
    };
    let set_net = move |ev| {
        if let Some(net) = NetSize::from_key(&event_target_value(&ev)) {
            doc.update(|d| d.policy.net = net);
        }
    };
    let set_backends = move |ev| {
        if let Some(b) = PolicyBackends::from_key(&event_target_value(&ev)) {
            doc.update(|d| d.policy.backends = b);
        }
    };

    let gpu_text = move || match gpu_status.get() {
        GpuStatus::Probing => "looking for WebGPU…".to_string(),
        GpuStatus::Ready(d) => d,
        GpuStatus::Unavailable(e) => format!("GPU unavailable: {e}. The cell runs on the CPU only."),
    };
    let progress_text = move || {
        if running.get() {
            format!("step {} of {}", progress.get(), total.get())
        } else {
            String::new()
        }
    };
    let r = move || report.get().unwrap_or_default();
    let summary = move || {
        report.get().map(|r| {
            let state = if r.cancelled { "cancelled after" } else { "ran" };
            format!("{state} {} of {} steps × {} agents, network {}", r.steps_done, r.n_steps, r.n_agents, r.net)
        })
    };

    view! {
        <section class="cell" id="cell-policy">
            <h2>"2 · The policy on CPU and GPU"</h2>
            <p class="explain">
                "The agents' brain (observation → dense layers with ELU → LSTM → linear head) with seeded random "
                "weights, run for N agents × T steps of random observations (uniform in ±2) on the CPU (this page's "
                "WebAssembly, one thread) and, where the browser offers WebGPU, on the GPU with the same weights and "
                "observations. The two should agree to float rounding: the cell shows the largest difference of the "
                "actions, the hidden state h and the cell state c over all steps and agents, and each backend's "
                "throughput (GPU time includes reading actions, h and c back every chunk)."
            </p>
            <div class="controls">
                <label>"agents N "
                    <input id="policy-agents" type="number" min="1" max="1024" step="1"
                        prop:value=move || cell.get().n_agents.to_string() on:change=set_agents />
                </label>
                <label>"steps T "
                    <input id="policy-steps" type="number" min="1" max="10000" step="1"
                        prop:value=move || cell.get().n_steps.to_string() on:change=set_steps />
                </label>
                <label>"network "
                    <select id="policy-net" on:change=set_net prop:value=move || cell.get().net.key().to_string()>
                        {NetSize::ALL.into_iter().map(|s| {
                            let text = match s {
                                NetSize::Paper => format!("paper {}", s.label()),
                                NetSize::Small => format!("small {}", s.label()),
                            };
                            view! { <option value=s.key() selected=move || cell.get().net == s>{text}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>"seed "
                    <input id="policy-seed" type="number" min="0" step="1"
                        prop:value=move || cell.get().seed.to_string() on:change=set_seed />
                </label>
                <label>"backend "
                    <select id="policy-backends" on:change=set_backends
                        prop:value=move || cell.get().backends.key().to_string()>
                        <option value="compare" selected=move || cell.get().backends == PolicyBackends::Compare>
                            "CPU and GPU (compare)"</option>
                        <option value="cpu" selected=move || cell.get().backends == PolicyBackends::Cpu>"CPU only"</option>
                        <option value="gpu" selected=move || cell.get().backends == PolicyBackends::Gpu>"GPU only"</option>
                    </select>
                </label>
                <button id="policy-run" on:click=start
                    disabled=move || running.get() || gpu_status.get() == GpuStatus::Probing>"Run"</button>
                <button id="policy-cancel" on:click=move |_| cancel.set(true)
                    disabled=move || !running.get() || cancel.get()>"Cancel"</button>
                <Show when=move || input_note.get().is_some()>
                    <span class="error">{move || input_note.get().unwrap_or_default()}</span>
                </Show>
            </div>
            <p id="policy-gpu-status" class:error=move || matches!(gpu_status.get(), GpuStatus::Unavailable(_))>
                {gpu_text}
            </p>
            <div class="numbers">
                <progress id="policy-progress" max=move || total.get().max(1).to_string()
                    value=move || progress.get().to_string() class:hidden=move || !running.get()></progress>
                <span id="policy-progress-text">{progress_text}</span>
                <span id="policy-state" data-state=move || {
                    if running.get() { "running" } else if report.get().is_some() { "done" } else { "idle" }
                }>{move || summary().unwrap_or_default()}</span>
            </div>
            <div class="numbers">
                <span>"CPU (wasm) agent-steps/s = "<b id="policy-cpu-rate">{move || fmt_rate(r().cpu_rate)}</b></span>
                <span>"GPU (WebGPU) agent-steps/s = "<b id="policy-gpu-rate">{move || fmt_rate(r().gpu_rate)}</b></span>
            </div>
            <div class="numbers">
                <span>"max |Δ| CPU vs GPU: actions "<b id="policy-diff-actions">{move || fmt_diff(r().diff.map(|d| d.actions))}</b></span>
                <span>"h "<b id="policy-diff-h">{move || fmt_diff(r().diff.map(|d| d.h))}</b></span>
                <span>"c "<b id="policy-diff-c">{move || fmt_diff(r().diff.map(|d| d.c))}</b></span>
            </div>
            <ul id="policy-notes">
                {move || r().notes.into_iter().map(|n| view! { <li class="error">{n}</li> }).collect_view()}
            </ul>
        </section>
    }
}
