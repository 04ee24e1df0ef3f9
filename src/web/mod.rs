//! The browser shell (wasm only): Leptos components wiring the notebook to the page.

pub fn start() {}
