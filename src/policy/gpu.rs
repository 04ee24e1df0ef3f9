//! The policy step on the GPU (wgpu compute, WGSL), batched over agents; [`super::cpu`] is its
//! reference and the tests below compare the two.
//!
//! Created once, dispatched many times: [`GpuPolicy`] holds the pipelines, the weights, every
//! layer's activity buffer and the bind groups that join them. A step is one compute pass of
//! `2 + n_dense + 1` dispatches: normalise (`dense.wgsl::normalize`), each dense layer
//! (`dense.wgsl::dense`, 64 × 64 tiles, ELU), the LSTM with its gates fused with the cell
//! update (`lstm.wgsl`), the head (`dense.wgsl::dense`, identity). h and c stay on the GPU
//! between steps (h double-buffered, as other workgroups still read the old h while the new one
//! is written).
//!
//! Read-back: [`GpuPolicy::step`] returns the actions of each step (closed loop: the simulator
//! needs them); while a recording is open, each step also copies actions, h and c into a
//! recording buffer on the GPU, read back in one go by [`GpuPolicy::take_recording`] (every K
//! steps). [`GpuPolicy::run_open_loop`] runs known observations K steps per submission.
//!
//! All of it is async and never blocks, so it runs in the browser (WebGPU) as natively.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3};
use wgpu::util::DeviceExt;

use super::safetensors_io::check_weights;
use super::weights::{PolicyShape, PolicyWeights};
use super::{Activity, PolicyError, Rollout};
use crate::gpu::{map_read_f32, GpuContext};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Dims {
    n_rows: u32,
    n_in: u32,
    /// n_out for dense layers, n_hidden for the LSTM
    n_out: u32,
    /// dense: 0 identity, 1 ELU
    activation: u32,
}

/// Rows (agents) and columns per dense tile, cells per LSTM tile, threads per normalise group;
/// must match the WGSL constants.
const TILE: u32 = 64;
const TILE_CELLS: u32 = 16;
const NORMALIZE_GROUP: u32 = 256;
/// Most bytes of recorded (or queued) per-step data kept on the GPU between read-backs.
const RECORD_BYTES_MAX: u64 = 64 << 20;

struct Pipelines {
    normalize: wgpu::ComputePipeline,
    dense: wgpu::ComputePipeline,
    lstm: wgpu::ComputePipeline,
}

/// The weights in GPU buffers (PyTorch layouts).
struct WeightBuffers {
    /// mean then sqrt(var + 1e-5), `(2·n_obs)`
    norm: wgpu::Buffer,
    /// Per dense layer: W `(out x in)`, b `(out)`.
    mlp: Vec<(wgpu::Buffer, wgpu::Buffer)>,
    /// W_ih `(4H x in)`, W_hh `(4H x H)`, b_ih + b_hh `(4H)`, back to back.
    lstm: wgpu::Buffer,
    head: (wgpu::Buffer, wgpu::Buffer),
}

/// Everything sized by the number of agents.
struct Batch {
    n_agents: usize,
    /// `(n_agents x n_obs)`
    obs: wgpu::Buffer,
    /// x₀ `(n_agents x n_obs)`, then each dense layer's output `(n_agents x width)`.
    layers: Vec<wgpu::Buffer>,
    /// `(n_agents x 4H)`
    gates: wgpu::Buffer,
    /// `(n_agents x H)` each; `h[parity]` is the current h.
    h: [wgpu::Buffer; 2],
    c: wgpu::Buffer,
    /// `(n_agents x n_actions)`
    actions: wgpu::Buffer,
    actions_staging: wgpu::Buffer,
    normalize_group: wgpu::BindGroup,
    dense_groups: Vec<wgpu::BindGroup>,
    /// `[reads h[0] → writes h[1], reads h[1] → writes h[0]]`
    lstm_groups: [wgpu::BindGroup; 2],
    /// `[reads h[0], reads h[1]]`
    head_groups: [wgpu::BindGroup; 2],
}

/// Steps recorded on the GPU and not yet read back.
struct Recording {
    capacity_steps: usize,
    n_steps: usize,
    /// `[actions (cap x N x A) | h (cap x N x H) | c (cap x N x H)]`
    buffer: wgpu::Buffer,
    staging: wgpu::Buffer,
}

/// The policy on a wgpu device.
pub struct GpuPolicy {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: String,
    shape: PolicyShape,
    pipelines: Pipelines,
    weights: WeightBuffers,
    batch: Batch,
    /// Which of `batch.h` holds the current h.
    parity: usize,
    recording: Option<Recording>,
    /// `(K x n_agents x n_obs)` queued observations for [`GpuPolicy::run_open_loop`].
    obs_queue: Option<(usize, wgpu::Buffer)>,
}

fn f32_bytes(n: usize) -> u64 {
    (n.max(1) * 4) as u64
}

impl GpuPolicy {
    /// Checks the weights, uploads them to `ctx`'s device and prepares `n_agents` agents with
    /// zero state.
    pub fn new(ctx: &GpuContext, weights: &PolicyWeights, n_agents: usize) -> Result<Self, PolicyError> {
        let shape = check_weights(weights)?;
        let device = ctx.device.clone();
        let dense_module = device.create_shader_module(wgpu::include_wgsl!("dense.wgsl"));
        let lstm_module = device.create_shader_module(wgpu::include_wgsl!("lstm.wgsl"));
        let pipeline = |module: &wgpu::ShaderModule, entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let pipelines = Pipelines {
            normalize: pipeline(&dense_module, "normalize"),
            dense: pipeline(&dense_module, "dense"),
            lstm: pipeline(&lstm_module, "lstm_step"),
        };
        let upload = |label: &str, values: &[f32]| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(values),
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let flat = |a: &Array2<f32>| a.iter().copied().collect::<Vec<f32>>();
        let mut norm = weights.obs_norm.mean.to_vec();
        norm.extend(weights.obs_norm.var.iter().map(|v| (v + 1e-5).sqrt()));
        let mut lstm = flat(&weights.lstm.weight_ih);
        lstm.extend(flat(&weights.lstm.weight_hh));
        lstm.extend((&weights.lstm.bias_ih + &weights.lstm.bias_hh).iter());
        let weight_buffers = WeightBuffers {
            norm: upload("obs_norm", &norm),
            mlp: weights
                .mlp
                .iter()
                .map(|d| (upload("mlp weight", &flat(&d.weight)), upload("mlp bias", &d.bias.to_vec())))
                .collect(),
            lstm: upload("lstm", &lstm),
            head: (
                upload("head weight", &flat(&weights.head.weight)),
                upload("head bias", &weights.head.bias.to_vec()),
            ),
        };
        let batch = make_batch(&device, &pipelines, &weight_buffers, &shape, n_agents)?;
        Ok(Self {
            device,
            queue: ctx.queue.clone(),
            adapter: ctx.describe(),
            shape,
            pipelines,
            weights: weight_buffers,
            batch,
            parity: 0,
            recording: None,
            obs_queue: None,
        })
    }

    pub fn shape(&self) -> &PolicyShape {
        &self.shape
    }

    pub fn n_agents(&self) -> usize {
        self.batch.n_agents
    }

    /// "name (backend, device type)" of the adapter.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// `n_agents` fresh agents: h = c = 0. Drops any open recording.
    pub fn reset(&mut self, n_agents: usize) -> Result<(), PolicyError> {
        self.batch = make_batch(&self.device, &self.pipelines, &self.weights, &self.shape, n_agents)?;
        self.parity = 0;
        self.recording = None;
        self.obs_queue = None;
        Ok(())
    }

    /// Encodes one step (reading `batch.obs`) and flips the h parity.
    fn encode_step(&mut self, encoder: &mut wgpu::CommandEncoder) {
        let b = &self.batch;
        let n = b.n_agents as u32;
        let rows = n.div_ceil(TILE);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("policy step"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipelines.normalize);
            pass.set_bind_group(0, &b.normalize_group, &[]);
            pass.dispatch_workgroups((n * self.shape.n_obs as u32).div_ceil(NORMALIZE_GROUP), 1, 1);
            pass.set_pipeline(&self.pipelines.dense);
            for (group, &width) in b.dense_groups.iter().zip(&self.shape.mlp_widths) {
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups((width as u32).div_ceil(TILE), rows, 1);
            }
            pass.set_pipeline(&self.pipelines.lstm);
            pass.set_bind_group(0, &b.lstm_groups[self.parity], &[]);
            pass.dispatch_workgroups((self.shape.n_hidden as u32).div_ceil(TILE_CELLS), rows, 1);
            pass.set_pipeline(&self.pipelines.dense);
            pass.set_bind_group(0, &b.head_groups[1 - self.parity], &[]);
            pass.dispatch_workgroups((self.shape.n_actions as u32).div_ceil(TILE), rows, 1);
        }
        self.parity = 1 - self.parity;
        if let Some(rec) = &mut self.recording {
            if rec.n_steps < rec.capacity_steps {
                let (n, a, h) = (b.n_agents, self.shape.n_actions, self.shape.n_hidden);
                let cap = rec.capacity_steps;
                let t = rec.n_steps;
                let bytes = |count: usize| (count * 4) as u64;
                encoder.copy_buffer_to_buffer(&b.actions, 0, &rec.buffer, bytes(t * n * a), bytes(n * a));
                let h0 = cap * n * a;
                encoder.copy_buffer_to_buffer(&b.h[self.parity], 0, &rec.buffer, bytes(h0 + t * n * h), bytes(n * h));
                let c0 = h0 + cap * n * h;
                encoder.copy_buffer_to_buffer(&b.c, 0, &rec.buffer, bytes(c0 + t * n * h), bytes(n * h));
                rec.n_steps += 1;
            }
        }
    }

    fn check_obs(&self, got: &[usize]) -> Result<(), PolicyError> {
        let expected = [self.batch.n_agents, self.shape.n_obs];
        if got != expected {
            return Err(PolicyError::ObsShape { got: got.to_vec(), expected: expected.to_vec() });
        }
        Ok(())
    }

    /// One step for every agent; `obs` is `(n_agents x n_obs)`. Returns the actions
    /// `(n_agents x n_actions)`, read back from the GPU. Records h, c and the actions on the GPU
    /// too while a recording is open (at most its capacity; further steps are not recorded).
    pub async fn step(&mut self, obs: ArrayView2<'_, f32>) -> Result<Array2<f32>, PolicyError> {
        self.check_obs(obs.shape())?;
        let (n, n_actions) = (self.batch.n_agents, self.shape.n_actions);
        if n == 0 {
            return Ok(Array2::zeros((0, n_actions)));
        }
        let obs = obs.as_standard_layout();
        self.queue.write_buffer(&self.batch.obs, 0, bytemuck::cast_slice(obs.as_slice().unwrap_or_default()));
        let mut encoder = self.device.create_command_encoder(&Default::default());
        self.encode_step(&mut encoder);
        let bytes = (n * n_actions * 4) as u64;
        encoder.copy_buffer_to_buffer(&self.batch.actions, 0, &self.batch.actions_staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let values = map_read_f32(&self.device, &self.batch.actions_staging, bytes).await?;
        Ok(Array2::from_shape_vec((n, n_actions), values).expect("read-back has n x A values"))
    }

    /// Opens a recording of up to `capacity_steps` steps (actions, h, c kept on the GPU).
    pub fn begin_recording(&mut self, capacity_steps: usize) {
        let (n, a, h) = (self.batch.n_agents, self.shape.n_actions, self.shape.n_hidden);
        let bytes = f32_bytes(capacity_steps * n * (a + 2 * h));
        let reuse = self.recording.as_ref().is_some_and(|r| r.capacity_steps == capacity_steps);
        if reuse {
            if let Some(r) = &mut self.recording {
                r.n_steps = 0;
            }
            return;
        }
        let buffer = |label, usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        self.recording = Some(Recording {
            capacity_steps,
            n_steps: 0,
            buffer: buffer("recording", wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST),
            staging: buffer("recording staging", wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
        });
    }

    /// Reads back the steps recorded since [`GpuPolicy::begin_recording`] (or the last take) as
    /// `[T, N, ·]` arrays, and starts the recording again from empty.
    pub async fn take_recording(&mut self) -> Result<Rollout, PolicyError> {
        let (n, a, h) = (self.batch.n_agents, self.shape.n_actions, self.shape.n_hidden);
        let Some(rec) = &mut self.recording else {
            return Ok(Rollout::empty(n, a, h));
        };
        let (t, cap) = (rec.n_steps, rec.capacity_steps);
        rec.n_steps = 0;
        if t == 0 || n == 0 {
            return Ok(Rollout::empty(n, a, h));
        }
        let total = f32_bytes(cap * n * (a + 2 * h));
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&rec.buffer, 0, &rec.staging, 0, total);
        self.queue.submit([encoder.finish()]);
        let values = map_read_f32(&self.device, &rec.staging, total).await?;
        let part = |start: usize, width: usize| {
            Array3::from_shape_vec((t, n, width), values[start..start + t * n * width].to_vec())
                .expect("recording holds T x N x width values")
        };
        let h0 = cap * n * a;
        Ok(Rollout { actions: part(0, a), h: part(h0, h), c: part(h0 + cap * n * h, h) })
    }

    /// Runs known observations `[T, n_agents, n_obs]` from the current state, K steps per
    /// submission (K bounded by a memory budget), and returns actions, h and c for every step.
    /// Uses (and closes) the recording buffer: a recording opened before is dropped.
    pub async fn run_open_loop(&mut self, obs: ArrayView3<'_, f32>) -> Result<Rollout, PolicyError> {
        let (n_steps, n, n_obs) = obs.dim();
        self.check_obs(&[n, n_obs])?;
        let (a, h) = (self.shape.n_actions, self.shape.n_hidden);
        let mut out = Rollout {
            actions: Array3::zeros((n_steps, n, a)),
            h: Array3::zeros((n_steps, n, h)),
            c: Array3::zeros((n_steps, n, h)),
        };
        if n == 0 || n_steps == 0 {
            return Ok(out);
        }
        let per_step = (n * (n_obs + a + 2 * h) * 4) as u64;
        let chunk = ((RECORD_BYTES_MAX / per_step) as usize).clamp(1, n_steps);
        if self.obs_queue.as_ref().is_none_or(|(k, _)| *k != chunk) {
            let queue = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("queued observations"),
                size: f32_bytes(chunk * n * n_obs),
                usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.obs_queue = Some((chunk, queue));
        }
        self.begin_recording(chunk);
        let step_bytes = (n * n_obs * 4) as u64;
        let mut t0 = 0;
        while t0 < n_steps {
            let k = chunk.min(n_steps - t0);
            let block = obs.slice(ndarray::s![t0..t0 + k, .., ..]);
            let block = block.as_standard_layout();
            let mut encoder = self.device.create_command_encoder(&Default::default());
            if let Some(queued) = self.obs_queue.as_ref().map(|(_, b)| b.clone()) {
                self.queue.write_buffer(&queued, 0, bytemuck::cast_slice(block.as_slice().unwrap_or_default()));
                for t in 0..k {
                    let obs_buffer = &self.batch.obs;
                    encoder.copy_buffer_to_buffer(&queued, t as u64 * step_bytes, obs_buffer, 0, step_bytes);
                    self.encode_step(&mut encoder);
                }
            }
            self.queue.submit([encoder.finish()]);
            let part = self.take_recording().await?;
            let range = ndarray::s![t0..t0 + k, .., ..];
            out.actions.slice_mut(range).assign(&part.actions);
            out.h.slice_mut(range).assign(&part.h);
            out.c.slice_mut(range).assign(&part.c);
            t0 += k;
        }
        self.recording = None;
        Ok(out)
    }

    /// Reads back every layer's activity after the last step.
    pub async fn activity(&self) -> Result<Activity<Array2<f32>>, PolicyError> {
        let b = &self.batch;
        let mut mlp = Vec::new();
        for (buffer, &width) in b.layers[1..].iter().zip(&self.shape.mlp_widths) {
            mlp.push(self.read_rows(buffer, width).await?);
        }
        let h = self.shape.n_hidden;
        Ok(Activity {
            obs_norm: self.read_rows(&b.layers[0], self.shape.n_obs).await?,
            mlp,
            gates: self.read_rows(&b.gates, 4 * h).await?,
            h: self.read_rows(&b.h[self.parity], h).await?,
            c: self.read_rows(&b.c, h).await?,
            actions: self.read_rows(&b.actions, self.shape.n_actions).await?,
        })
    }

    /// Reads a per-agent buffer `(n_agents x width)` back.
    async fn read_rows(&self, buffer: &wgpu::Buffer, width: usize) -> Result<Array2<f32>, PolicyError> {
        let n = self.batch.n_agents;
        let bytes = f32_bytes(n * width);
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("activity staging"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let mut values = map_read_f32(&self.device, &staging, bytes).await?;
        values.truncate(n * width);
        Ok(Array2::from_shape_vec((n, width), values).expect("n x width values"))
    }
}

/// Allocates the per-agent buffers for `n_agents` and joins them to the weights in bind groups.
fn make_batch(
    device: &wgpu::Device,
    pipelines: &Pipelines,
    weights: &WeightBuffers,
    shape: &PolicyShape,
    n_agents: usize,
) -> Result<Batch, PolicyError> {
    let widest =
        [shape.n_obs, 4 * shape.n_hidden].into_iter().chain(shape.mlp_widths.iter().copied()).max().unwrap_or(1);
    let limits = device.limits();
    let limit = limits.max_storage_buffer_binding_size;
    if f32_bytes(n_agents * widest) > limit {
        return Err(PolicyError::TooManyAgents { n_agents, bytes: f32_bytes(n_agents * widest), limit });
    }
    let groups = (n_agents * shape.n_obs).div_ceil(NORMALIZE_GROUP as usize).max(n_agents.div_ceil(TILE as usize));
    if groups > limits.max_compute_workgroups_per_dimension as usize {
        return Err(PolicyError::TooManyWorkgroups {
            n_agents,
            groups,
            limit: limits.max_compute_workgroups_per_dimension,
        });
    }
    let storage = |label: &str, width: usize| {
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: f32_bytes(n_agents * width),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let uniform = |dims: Dims| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dims"),
            contents: bytemuck::bytes_of(&dims),
            usage: wgpu::BufferUsages::UNIFORM,
        })
    };
    let group = |pipeline: &wgpu::ComputePipeline, buffers: &[(u32, &wgpu::Buffer)]| {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .map(|&(binding, b)| wgpu::BindGroupEntry { binding, resource: b.as_entire_binding() })
            .collect();
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    };
    let n = n_agents as u32;
    let obs = storage("obs", shape.n_obs);
    let mut layers = vec![storage("x0", shape.n_obs)];
    for &width in &shape.mlp_widths {
        layers.push(storage("dense out", width));
    }
    let gates = storage("gates", 4 * shape.n_hidden);
    let h = [storage("h a", shape.n_hidden), storage("h b", shape.n_hidden)];
    let c = storage("c", shape.n_hidden);
    let actions = storage("actions", shape.n_actions);
    let actions_staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("actions staging"),
        size: f32_bytes(n_agents * shape.n_actions),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });

    let norm_dims = uniform(Dims { n_rows: n, n_in: shape.n_obs as u32, n_out: shape.n_obs as u32, activation: 0 });
    let normalize_group =
        group(&pipelines.normalize, &[(0, &norm_dims), (1, &obs), (2, &weights.norm), (4, &layers[0])]);
    let mut dense_groups = Vec::new();
    let mut n_in = shape.n_obs;
    for (k, (w, b)) in weights.mlp.iter().enumerate() {
        let width = shape.mlp_widths[k];
        let dims = uniform(Dims { n_rows: n, n_in: n_in as u32, n_out: width as u32, activation: 1 });
        dense_groups.push(group(&pipelines.dense, &[(0, &dims), (1, &layers[k]), (2, w), (3, b), (4, &layers[k + 1])]));
        n_in = width;
    }
    let lstm_dims = uniform(Dims { n_rows: n, n_in: n_in as u32, n_out: shape.n_hidden as u32, activation: 0 });
    let x_last = layers.last().expect("x0 exists");
    let lstm_group = |from: usize| {
        group(
            &pipelines.lstm,
            &[(0, &lstm_dims), (1, x_last), (2, &weights.lstm), (3, &h[from]), (4, &h[1 - from]), (5, &c), (6, &gates)],
        )
    };
    let lstm_groups = [lstm_group(0), lstm_group(1)];
    let head_dims =
        uniform(Dims { n_rows: n, n_in: shape.n_hidden as u32, n_out: shape.n_actions as u32, activation: 0 });
    let head_group = |from: usize| {
        group(
            &pipelines.dense,
            &[(0, &head_dims), (1, &h[from]), (2, &weights.head.0), (3, &weights.head.1), (4, &actions)],
        )
    };
    let head_groups = [head_group(0), head_group(1)];
    Ok(Batch {
        n_agents,
        obs,
        layers,
        gates,
        h,
        c,
        actions,
        actions_staging,
        normalize_group,
        dense_groups,
        lstm_groups,
        head_groups,
    })
}

impl Rollout {
    fn empty(n_agents: usize, n_actions: usize, n_hidden: usize) -> Self {
        Self {
            actions: Array3::zeros((0, n_agents, n_actions)),
            h: Array3::zeros((0, n_agents, n_hidden)),
            c: Array3::zeros((0, n_agents, n_hidden)),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::fmath::FloatExt;
    use crate::policy::cpu::CpuPolicy;
    use ndarray::Axis;
    use rand::{Rng, SeedableRng};

    fn context() -> GpuContext {
        GpuContext::native().expect("a GPU adapter (lavapipe from mesa-vulkan-drivers in CI)")
    }

    fn random_obs(n_steps: usize, n_agents: usize, n_obs: usize, seed: u64) -> Array3<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array3::from_shape_simple_fn((n_steps, n_agents, n_obs), || rng.random_range(-2.0..2.0))
    }

    fn max_abs_diff(a: &Array3<f32>, b: &Array3<f32>) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::fmax)
    }

    /// CPU reference run of `obs` from zero state.
    fn cpu_rollout(w: &PolicyWeights, obs: &Array3<f32>) -> Rollout {
        let (t, n, _) = obs.dim();
        let mut p = CpuPolicy::new(w, n).unwrap();
        let mut out = Rollout::empty(n, w.shape().n_actions, w.shape().n_hidden);
        out.actions = Array3::zeros((t, n, w.shape().n_actions));
        out.h = Array3::zeros((t, n, w.shape().n_hidden));
        out.c = out.h.clone();
        for (i, o) in obs.axis_iter(Axis(0)).enumerate() {
            out.actions.index_axis_mut(Axis(0), i).assign(&p.step(o).unwrap());
            out.h.index_axis_mut(Axis(0), i).assign(&p.activity().h);
            out.c.index_axis_mut(Axis(0), i).assign(&p.activity().c);
        }
        out
    }

    #[test]
    fn odd_sizes_match_cpu_step_by_step_with_every_layer() {
        // Sizes that are not multiples of any tile: edge tiles everywhere; non-trivial obs_norm.
        let shape = PolicyShape { n_obs: 19, mlp_widths: vec![37, 70], n_hidden: 13, n_actions: 5 };
        let mut w = PolicyWeights::random(&shape, 3);
        w.obs_norm.mean.iter_mut().enumerate().for_each(|(i, m)| *m = 0.1 * i as f32 - 0.5);
        w.obs_norm.var.iter_mut().enumerate().for_each(|(i, v)| *v = 0.05 + 0.3 * i as f32);
        let n = 67;
        let obs = random_obs(6, n, 19, 9);
        let ctx = context();
        let mut gpu = GpuPolicy::new(&ctx, &w, n).unwrap();
        let mut cpu = CpuPolicy::new(&w, n).unwrap();
        for o in obs.axis_iter(Axis(0)) {
            let g = pollster::block_on(gpu.step(o)).unwrap();
            let c = cpu.step(o).unwrap().to_owned();
            let diff = g.iter().zip(&c).map(|(x, y)| (x - y).abs()).fold(0.0, f32::fmax);
            assert!(diff <= 1e-5, "actions differ by {diff} on {}", gpu.adapter());
        }
        let ga = pollster::block_on(gpu.activity()).unwrap();
        let ca = cpu.activity();
        let pairs = [
            ("obs_norm", &ga.obs_norm, ca.obs_norm),
            ("gates", &ga.gates, ca.gates),
            ("h", &ga.h, ca.h),
            ("c", &ga.c, ca.c),
        ];
        for (name, g, c) in pairs {
            let diff = g.iter().zip(c).map(|(x, y)| (x - y).abs()).fold(0.0, f32::fmax);
            assert!(diff <= 1e-5, "{name} differs by {diff}");
        }
        for (k, (g, c)) in ga.mlp.iter().zip(&ca.mlp).enumerate() {
            let diff = g.iter().zip(c).map(|(x, y)| (x - y).abs()).fold(0.0, f32::fmax);
            assert!(diff <= 1e-5, "dense layer {k} differs by {diff}");
        }
        // A reset restarts from zero state on the GPU too.
        gpu.reset(n).unwrap();
        let first_again = pollster::block_on(gpu.step(obs.index_axis(Axis(0), 0))).unwrap();
        let mut fresh = CpuPolicy::new(&w, n).unwrap();
        let want = fresh.step(obs.index_axis(Axis(0), 0)).unwrap();
        assert!(first_again.iter().zip(want).all(|(x, y)| (x - y).abs() <= 1e-5));
    }

    #[test]
    fn recording_per_step_equals_the_open_loop_run() {
        let shape = PolicyShape { n_obs: 6, mlp_widths: vec![20], n_hidden: 9, n_actions: 3 };
        let w = PolicyWeights::random(&shape, 4);
        let obs = random_obs(5, 10, 6, 2);
        let ctx = context();
        let mut stepped = GpuPolicy::new(&ctx, &w, 10).unwrap();
        stepped.begin_recording(8);
        for o in obs.axis_iter(Axis(0)) {
            pollster::block_on(stepped.step(o)).unwrap();
        }
        let recorded = pollster::block_on(stepped.take_recording()).unwrap();
        let mut open = GpuPolicy::new(&ctx, &w, 10).unwrap();
        let run = pollster::block_on(open.run_open_loop(obs.view())).unwrap();
        assert_eq!(recorded.actions, run.actions);
        assert_eq!(recorded.h, run.h);
        assert_eq!(recorded.c, run.c);
        assert_eq!(run.h.dim(), (5, 10, 9));
    }

    #[test]
    fn paper_sized_policy_matches_cpu_over_a_long_rollout() {
        // The check is 256 agents × 500 steps, paper sizes, random weights, ≤ 1e-4.
        // lavapipe runs this policy at ≈ 2–3 k agent-steps/s on the 2-core dev machine, so the
        // full size (≈ 60 s) runs in `tanglelab bench policy` (its parity line) and the unit
        // test runs 256 agents × 128 steps (≈ 10–20 s in debug, depending on load).
        let w = PolicyWeights::random(&PolicyShape::paper(18, 6), 1);
        let obs = random_obs(128, 256, 18, 5);
        let ctx = context();
        let mut gpu = GpuPolicy::new(&ctx, &w, 256).unwrap();
        let g = pollster::block_on(gpu.run_open_loop(obs.view())).unwrap();
        let c = cpu_rollout(&w, &obs);
        let (da, dh, dc) = (max_abs_diff(&g.actions, &c.actions), max_abs_diff(&g.h, &c.h), max_abs_diff(&g.c, &c.c));
        assert!(da <= 1e-4 && dh <= 1e-4 && dc <= 1e-4, "max |Δ| actions {da}, h {dh}, c {dc} on {}", gpu.adapter());
    }

    #[test]
    fn too_many_agents_is_an_error_not_a_crash() {
        // The widest per-agent buffer holds 4H = 4 values: one agent past limit / 16 bytes.
        let w = PolicyWeights::random(&PolicyShape { n_obs: 1, mlp_widths: vec![], n_hidden: 1, n_actions: 1 }, 1);
        let ctx = context();
        let limit = ctx.device.limits().max_storage_buffer_binding_size;
        let n = (limit / 16) as usize + 1;
        match GpuPolicy::new(&ctx, &w, n) {
            Err(PolicyError::TooManyAgents { .. }) => {}
            other => panic!("expected TooManyAgents, got {:?}", other.err()),
        }
    }
}
