//! Benchmark hooks for JavaScript (wasm only): the simulator benchmark's scenario
//! ([`crate::sim::scenario`]), exported through wasm-bindgen so that tests/e2e/bench_wasm.mjs can
//! time the same code that `tanglelab bench sim` times natively. No timing happens here: the
//! caller measures with `performance.now()`. The page itself does not use these.

use wasm_bindgen::prelude::*;

use crate::sim::scenario::run_sinusoid;
use crate::sim::{walker2d, Data, Model};

/// One Walker2D agent at rest in the reference pose, running the benchmark scenario.
/// JavaScript: `const s = new wasmBindings.SimBenchScenario(); s.run(250); s.free();`.
#[wasm_bindgen]
pub struct SimBenchScenario {
    model: Model,
    data: Data,
}

#[wasm_bindgen]
impl SimBenchScenario {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> SimBenchScenario {
        let model = walker2d::model();
        let data = Data::new(&model);
        SimBenchScenario { model, data }
    }

    /// Runs `control_steps` control steps from the current state; returns
    /// `{ control_steps, physics_steps, resets }` for this call.
    pub fn run(&mut self, control_steps: u32) -> Result<JsValue, JsError> {
        let counts = run_sinusoid(&self.model, &mut self.data, control_steps as usize)?;
        Ok(serde_wasm_bindgen::to_value(&counts)?)
    }
}
