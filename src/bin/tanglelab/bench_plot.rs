//! `tanglelab bench plot`: frames per second of the 3D views' two renderers on the same scenes
//! (`plot::bench_scene`) and sizes: the software renderer (`plot::raster`, what the page draws
//! with when the browser has no WebGPU) against the wgpu pass on this machine's adapter (an
//! offscreen render read back, as figure export does; lavapipe here), measured in the same run.
//! Release builds only.

use anyhow::Context;
use clap::Args;
use std::time::Instant;

use tanglelab::gpu::GpuContext;
use tanglelab::plot::bench_scene::BenchScene;
use tanglelab::plot::camera::OrbitCamera;
use tanglelab::plot::lines3d::Renderer3d;
use tanglelab::plot::raster::SoftwareRenderer;

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
        Some((w, h)) if (1..=4096).contains(&w) && (1..=4096).contains(&h) => Ok((w, h)),
        _ => anyhow::bail!("--sizes: {text:?} is not WIDTHxHEIGHT with sides 1 to 4096"),
    }
}

/// Frames per second of `frame`, which is run until `seconds` have passed (at least twice).
fn frames_per_sec(seconds: f64, mut frame: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    frame()?; // warm-up: buffers, pipelines
    let start = Instant::now();
    let mut frames = 0u32;
    loop {
        frame()?;
        frames += 1;
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= seconds && frames >= 2 {
            return Ok(f64::from(frames) / elapsed);
        }
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
            let soft = frames_per_sec(args.seconds, || {
                std::hint::black_box(software.render(&segments, &triangles, size, matrix, 1.6));
                Ok(())
            })?;
            let hard = frames_per_sec(args.seconds, || {
                let rgba =
                    pollster::block_on(gpu_renderer.render_offscreen(&gpu.device, &gpu.queue, size, matrix, 1.6))?;
                std::hint::black_box(rgba);
                Ok(())
            })?;
            println!("| {} | {}×{} | {soft:.1} | {hard:.1} | {:.2} |", scene.name(), size.0, size.1, soft / hard);
        }
    }
    Ok(())
}
