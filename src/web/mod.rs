//! The browser shell (wasm only): Leptos components that wire the notebook document, the core's
//! analyses and the plot renderer to the page. No numerics live here.
//!
//! - [`app`]: the notebook page, the document signal, permalinks in the URL fragment;
//! - [`plot3d`]: a canvas with the wgpu line renderer, orbit/zoom/reset by mouse, the camera
//!   recorded in the document; `figure_png`: its PNG export with title, axis names, colour bar;
//!   `plot_gpu`: the one WebGPU device all views share;
//! - [`lissajous_cell`]: the first cell (tangling of a Lissajous curve);
//! - [`policy_cell`]: the policy on CPU (wasm) and WebGPU, their throughput and difference;
//! - [`walker_cell`]: the shipped Walker2D policy walking, side view, live speed command;
//! - `quadruped_cell`, `study_cell`: the shipped quadruped policy in 3D following u*, v*, r*;
//!   the study on the shipped policy;
//! - `shipped_policy`: fetching and checking a shipped policy and its card into a session;
//! - `reaching_grid_cell`, `reaching_rnn_cell`, `reaching_units_cell`: seed study 002's tabular
//!   Q-learning, trained live; its supervised RNNs, trained in the tab with progress and cancel or
//!   loaded from the shipped weights; their hidden units (PSTHs, PCA, jPCA, tangling);
//! - `reaching_dqn_cell`: its DQN on images, trained in the tab or loaded, and evaluated;
//! - `brainiarb_cell`: seed study 003, the shipped expert and behaviour-cloned students compared
//!   by CKA and their gait spectra (`brainiarb::report`, as `tanglelab brainiarb compare`);
//! - `data_cell`: the user's own `.npy` or `.csv` recording, analysed in the tab (`explore`);
//! - `citations`: the papers cited beside the cells that replicate them;
//! - `shell`: the clock, fetches and JavaScript error text the cells share; `widgets`: an inline
//!   note and a progress line several cells show;
//! - [`bench_exports`]: the simulator benchmark's scenario, exported to JavaScript for timing.

mod app;
pub mod bench_exports;
mod brainiarb_cell;
mod citations;
mod data_cell;
mod figure_png;
mod lissajous_cell;
mod plot3d;
mod plot_gpu;
mod plot_software;
mod policy_cell;
mod quadruped_cell;
mod reaching_dqn_cell;
mod reaching_grid_cell;
mod reaching_rnn_cell;
mod reaching_units_cell;
mod shell;
mod shipped_policy;
mod study_cell;
mod study_workers;
mod walker_cell;
mod widgets;

/// Mounts the notebook on the page body.
pub fn start() {
    console_error_panic_hook::set_once();
    // In a study worker (`study_workers`) the same module loads without a page: nothing to mount.
    if web_sys::window().is_none() {
        return;
    }
    leptos::mount::mount_to_body(app::App);
    // The page's "loading" line (index.html) goes once the notebook is mounted.
    if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
        boot.remove();
    }
}
