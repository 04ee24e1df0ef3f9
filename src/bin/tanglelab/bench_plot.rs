//! `tanglelab bench plot`: frames per second of the 3D views' two renderers on the same scenes
//! (`plot::bench_scene`) and sizes: the software renderer (`plot::raster`, what the page draws
//! with when the browser has no WebGPU) against the wgpu pass on this machine's adapter (an
//! offscreen render read back, as figure export does; lavapipe here), measured in the same run,
//! each the best of three windows after a warm-up (`bench::calls_per_sec`).
//! Release builds only.

use anyhow::Context;
use clap::Args;

use crate::bench::calls_per_sec;
use tanglelab::gpu::GpuContext;
use tanglelab::plot::bench_scene::BenchScene;
use tanglelab::plot::camera::OrbitCamera;
use tanglelab::plot::lines3d::Renderer3d;
use tanglelab::plot::raster::{SoftwareRenderer, MAX_SIDE_PX};

#[derive(Args)]
pub struct BenchPlotArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Image sizes, WIDTHxHEIGHT, comma-separated.
    #[arg(long, default_value = "640x400,1280x800", value_delimiter = ',')]
    sizes: Vec<String>,
}

fn parse_size(text: &str) -> anyhow::Result<(u32, u32)> {
    let parsed = text.split_once('x').and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some((w, h)) if (1..=MAX_SIDE_PX).contains(&w) && (1..=MAX_SIDE_PX).contains(&h) => Ok((w, h)),
        _ => anyhow::bail!("--sizes: {text:?} is not WIDTHxHEIGHT with sides 1 to {MAX_SIDE_PX}"),
    }
}

pub fn run(args: BenchPlotArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 600.0,
        "--seconds must be in (0, 600]"
    );
    let sizes: Vec<(u32, u32)> = args.sizes.iter().map(|s| parse_size(s)).collect::<anyhow::Result<_>>()?;
    let gpu = GpuContext::native().context("no GPU adapter for the wgpu baseline (lavapipe: mesa-vulkan-drivers)")?;
    println!("wgpu adapter: {} ({:?})", gpu.adapter_info.name, gpu.adapter_info.backend);
    println!();
    println!("| scene | size | software renderer, frames/s | wgpu offscreen + read-back, frames/s | software / wgpu |");
    println!("|---|---|---:|---:|---:|");
    let camera = OrbitCamera { yaw_rad: 0.6, pitch_rad: 0.4, distance: 3.0, ..OrbitCamera::default() };
    for scene in BenchScene::ALL {
        let (segments, triangles) = scene.build();
        let mut gpu_renderer = Renderer3d::new(&gpu.device);
        gpu_renderer.set_segments(&gpu.device, &gpu.queue, &segments);
        gpu_renderer.set_triangles(&gpu.device, &gpu.queue, &triangles);
        let mut software = SoftwareRenderer::new();
        for &size in &sizes {
            let matrix: [[f32; 4]; 4] = camera.clip_from_world(size.0 as f32 / size.1 as f32).into();
            let soft = calls_per_sec(args.seconds, || {
                std::hint::black_box(software.render(&segments, &triangles, size, matrix, 1.6));
            });
            let mut gpu_error = None;
            let hard = calls_per_sec(args.seconds, || {
                match pollster::block_on(gpu_renderer.render_offscreen(&gpu.device, &gpu.queue, size, matrix, 1.6)) {
                    Ok(rgba) => drop(std::hint::black_box(rgba)),
                    Err(e) => gpu_error = Some(e),
                }
            });
            if let Some(e) = gpu_error {
                anyhow::bail!("the wgpu pass failed: {e}");
            }
            println!("| {} | {}×{} | {soft:.1} | {hard:.1} | {:.2} |", scene.name(), size.0, size.1, soft / hard);
        }
    }
    Ok(())
}
