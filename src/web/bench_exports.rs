//! Benchmark and test hooks for JavaScript (wasm only): the simulator benchmark's scenario
//! ([`crate::task::walker2d::scenario`]) and the tangling benchmark's ([`crate::analysis::bench_scenario`]),
//! exported through wasm-bindgen so that tests/e2e/bench_wasm.mjs and bench_wasm_tangling.mjs can
//! time the same code that `tanglelab bench sim` and `tanglelab bench analysis` time natively,
//! and the CPU policy's output checksum (`policy::compare::cpu_checksum`), which tests/e2e
//! compares with `tanglelab policy checksum`, and the policy benchmark's batch
//! ([`PolicyBenchScenario`], timed by tests/e2e/bench_wasm_policy.mjs for `tanglelab bench policy
//! --wasm`). No timing happens here: the caller measures with `performance.now()`. The page
//! itself does not use these.

use wasm_bindgen::prelude::*;

use ndarray::Array3;

use crate::analysis::bench_scenario::{checksum, tangling_scenario};
use crate::analysis::{tangling, TanglingConfig};
use crate::sim::robots::{quadruped, walker2d};
use crate::sim::{Data, Model};
use crate::task::{quadruped::scenario as quadruped_scenario, walker2d::scenario as walker2d_scenario};

/// One agent at rest in its scenario's starting pose, running the robot's benchmark scenario.
/// JavaScript: `const s = new wasmBindings.SimBenchScenario('quadruped'); s.run(250); s.free();`
/// (no argument: the Walker2D).
#[wasm_bindgen]
pub struct SimBenchScenario {
    quadruped: bool,
    model: Model,
    data: Data,
}

#[wasm_bindgen]
impl SimBenchScenario {
    #[wasm_bindgen(constructor)]
    pub fn new(robot: Option<String>) -> Result<SimBenchScenario, JsError> {
        let quadruped = match robot.as_deref() {
            None | Some("walker2d") => false,
            Some("quadruped") => true,
            Some(other) => return Err(JsError::new(&format!("no benchmark scenario for robot {other:?}"))),
        };
        let model = if quadruped { quadruped::model() } else { walker2d::model() };
        let mut data = Data::new(&model);
        if quadruped {
            quadruped_scenario::reset_to_default_pose(&model, &mut data);
        }
        Ok(SimBenchScenario { quadruped, model, data })
    }

    /// Runs `control_steps` control steps from the current state; returns
    /// `{ control_steps, physics_steps, resets }` for this call.
    pub fn run(&mut self, control_steps: u32) -> Result<JsValue, JsError> {
        let n = control_steps as usize;
        let counts = if self.quadruped {
            quadruped_scenario::run_sinusoid(&self.model, &mut self.data, n)?
        } else {
            walker2d_scenario::run_sinusoid(&self.model, &mut self.data, n)?
        };
        Ok(serde_wasm_bindgen::to_value(&counts)?)
    }
}

/// The tangling benchmark's data (C = 7, T = 500, D = 128, cyclic, z-scored).
/// JavaScript: `const s = new wasmBindings.TanglingBenchScenario(); const sum = s.run(); s.free();`.
#[wasm_bindgen]
pub struct TanglingBenchScenario {
    x: Array3<f64>,
    config: TanglingConfig,
}

#[wasm_bindgen]
impl TanglingBenchScenario {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> TanglingBenchScenario {
        let (x, config) = tangling_scenario();
        TanglingBenchScenario { x, config }
    }

    /// Computes tangling once (what the native benchmark times); returns the checksum of Q's bits
    /// as 16 hex digits, to compare with the native result.
    pub fn run(&self) -> Result<String, JsError> {
        let q = tangling(self.x.view(), &self.config)?;
        Ok(format!("{:016x}", checksum(&q)))
    }
}

/// `tanglelab policy checksum` in the page: the SHA-256 of the CPU policy's outputs for the
/// weights in `safetensors` (bytes), `agents` × `steps` of the seeded observation stream.
#[wasm_bindgen(js_name = policyChecksum)]
pub fn policy_checksum(safetensors: &[u8], agents: u32, steps: u32, seed: u32) -> Result<String, JsError> {
    let weights = crate::policy::load_safetensors(safetensors)?;
    Ok(crate::policy::compare::cpu_checksum(&weights, agents as usize, steps as usize, u64::from(seed))?)
}

/// The policy benchmark's batch: `agents` agents of the paper's Walker2D-sized network with
/// `PolicyWeights::random(shape, 0)` (what `tanglelab bench policy` times by default), stepped on
/// the CPU path over a fixed block of observations.
/// JavaScript: `const s = new wasmBindings.PolicyBenchScenario(64); s.run(10); s.free();`.
#[wasm_bindgen]
pub struct PolicyBenchScenario {
    policy: crate::policy::CpuPolicy,
    obs: Array3<f32>,
    t: usize,
}

#[wasm_bindgen]
impl PolicyBenchScenario {
    #[wasm_bindgen(constructor)]
    pub fn new(agents: u32) -> Result<PolicyBenchScenario, JsError> {
        let weights = crate::policy::PolicyWeights::random(&crate::policy::PolicyShape::bench(), 0);
        let n = agents as usize;
        if n == 0 || n > 4096 {
            return Err(JsError::new(&format!("1 … 4096 agents, got {n}")));
        }
        let policy = crate::policy::CpuPolicy::new(&weights, n)?;
        let obs = crate::policy::compare::random_observations(8, n, weights.shape().n_obs, 0);
        Ok(PolicyBenchScenario { policy, obs, t: 0 })
    }

    /// `steps` policy steps; returns the last actions' first value (so nothing is optimised away).
    pub fn run(&mut self, steps: u32) -> Result<f32, JsError> {
        for _ in 0..steps {
            let o = self.obs.index_axis(ndarray::Axis(0), self.t % self.obs.dim().0);
            self.t += 1;
            self.policy.step(o)?;
        }
        Ok(self.policy.activity().actions[[0, 0]])
    }

    /// The checksum of the benchmark's weights over `agents` × `steps` of the seeded stream, as
    /// `tanglelab bench policy --wasm` computes natively: the same work, the same bits.
    pub fn checksum(agents: u32, steps: u32) -> Result<String, JsError> {
        let weights = crate::policy::PolicyWeights::random(&crate::policy::PolicyShape::bench(), 0);
        Ok(crate::policy::compare::cpu_checksum(&weights, agents as usize, steps as usize, 0)?)
    }
}
