//! Tangling on the GPU: the O(N²) max-ratio search of [`super::tangling`](super::tangling) as a WGSL kernel.
//!
//! Preparation (z-scoring, derivatives, ε) is shared with the CPU path; only the pairwise search
//! runs on the GPU, in f32. The CPU function is the reference; `tests` compares the two.

use ndarray::{Array2, ArrayView3};
use wgpu::util::DeviceExt;

use super::{prepare, StatesAndDerivatives, TanglingConfig, TanglingError};
use crate::gpu::{GpuContext, GpuError};

/// Why GPU tangling failed.
#[derive(Debug, thiserror::Error)]
pub enum TanglingGpuError {
    #[error(transparent)]
    Input(#[from] TanglingError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n_points: u32,
    n_dims: u32,
    eps: f32,
    _pad: u32,
}

const WORKGROUP_SIZE: u32 = 64;

/// Same contract as [`super::tangling`](super::tangling), computed on `ctx`'s device in f32.
pub async fn tangling_gpu(
    ctx: &GpuContext,
    x: ArrayView3<'_, f64>,
    config: &TanglingConfig,
) -> Result<Array2<f64>, TanglingGpuError> {
    let prepared = prepare(x, config)?;
    let q = max_ratio_gpu(ctx, &prepared.points, prepared.eps as f32).await?;
    let q: Vec<f64> = q.into_iter().map(f64::from).collect();
    Ok(prepared.scatter(&q))
}

async fn max_ratio_gpu(ctx: &GpuContext, points: &StatesAndDerivatives, eps: f32) -> Result<Vec<f32>, GpuError> {
    let device = &ctx.device;
    let n_points = points.len() as u32;
    let to_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let params = Params { n_points, n_dims: points.n_dims as u32, eps, _pad: 0 };
    let storage = |label, contents: &[f32]| {
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(contents),
            usage: wgpu::BufferUsages::STORAGE,
        })
    };
    let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("tangling params"),
        contents: bytemuck::bytes_of(&params),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let states = storage("states", &to_f32(&points.states));
    let derivatives = storage("derivatives", &to_f32(&points.derivatives));
    let q_bytes = u64::from(n_points.max(1)) * 4;
    let q_buf = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("q"),
        size: q_bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let module = device.create_shader_module(wgpu::include_wgsl!("tangling.wgsl"));
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("tangling max ratio"),
        layout: None,
        module: &module,
        entry_point: Some("max_ratio"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("tangling"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: params_buf.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: states.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 2, resource: derivatives.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 3, resource: q_buf.as_entire_binding() },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(n_points.div_ceil(WORKGROUP_SIZE), 1, 1);
    }
    ctx.queue.submit([encoder.finish()]);
    let mut q = ctx.read_f32(&q_buf, q_bytes).await?;
    q.truncate(n_points as usize);
    Ok(q)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::analysis::{lissajous::lissajous, tangling};
    use crate::fmath::FloatExt;
    use rand::{Rng, SeedableRng};

    /// Compares the kernel with the CPU reference; no adapter is a failure, not a skip.
    fn check(x: ndarray::Array3<f64>, config: TanglingConfig) {
        let ctx = GpuContext::native().expect("a GPU adapter (lavapipe from mesa-vulkan-drivers in CI)");
        let gpu = pollster::block_on(tangling_gpu(&ctx, x.view(), &config)).unwrap();
        let cpu = tangling(x.view(), &config).unwrap();
        for (g, c) in gpu.iter().zip(cpu.iter()) {
            if c.is_nan() {
                assert!(g.is_nan());
            } else {
                assert!((g - c).abs() <= 2e-4 * c.abs().fmax(1e-3), "gpu {g} vs cpu {c} on {}", ctx.describe());
            }
        }
    }

    #[test]
    fn gpu_matches_cpu_on_lissajous() {
        check(lissajous(0.2, 300), TanglingConfig { cyclic: true, ..Default::default() });
    }

    #[test]
    fn gpu_matches_cpu_on_random_high_dimensional_conditions() {
        // 3 conditions, non-cyclic (NaN firsts).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let x = ndarray::Array3::from_shape_fn((3, 50, 40), |_| rng.random_range(-1.0..1.0));
        check(x, TanglingConfig { dt_secs: 0.02, ..Default::default() });
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let x = ndarray::Array3::from_shape_fn((2, 97, 12), |_| rng.random_range(-1.0..1.0));
        check(x, TanglingConfig { cyclic: true, ..Default::default() });
    }
}
