//! A wgpu renderer for coloured 3D polylines with screen-space thickness and depth testing, over
//! optional shaded solids (`plot::mesh3d` triangles, drawn first in the same pass).
//!
//! Platform-free: it takes a device, a target format and a target view, so the page (a WebGPU
//! surface) and native tests (an offscreen texture on lavapipe) drive the same code; its CPU twin
//! is `plot::raster`.
//! Colours are sRGB triples; on an sRGB target the shaders linearise them.

use super::mesh3d::MeshVertex;
use crate::fmath::FloatExt;
use crate::gpu::{read_back, GpuError};

/// One straight piece of a line, coloured at both ends.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Segment {
    pub start: [f32; 3],
    pub start_color: [f32; 3],
    pub end: [f32; 3],
    pub end_color: [f32; 3],
}

/// Trajectories `x` `[paths, samples, columns]` as [`paths_in_box`] draws them, all closed or all
/// open.
pub fn trajectories_in_box(
    x: ndarray::ArrayView3<f64>,
    closed: bool,
    colour: impl Fn(usize, usize) -> [f32; 3],
) -> Vec<Segment> {
    let paths: Vec<(ndarray::ArrayView2<f64>, bool)> = x.outer_iter().map(|p| (p, closed)).collect();
    paths_in_box(&paths, colour, None)
}

/// Paths `(samples x columns, closed)` of any lengths (the first 3 columns drawn, missing ones at
/// 0) as polylines scaled together into [−1, 1]³ by their largest |coordinate|, above a small axes
/// triad at (−1.1, −1.1, −1.1); `colour(path, sample)` colours each vertex; `marker` (path,
/// sample) draws a black cross there.
pub fn paths_in_box(
    paths: &[(ndarray::ArrayView2<f64>, bool)],
    colour: impl Fn(usize, usize) -> [f32; 3],
    marker: Option<(usize, usize)>,
) -> Vec<Segment> {
    let scale = paths.iter().flat_map(|(p, _)| p.iter()).fold(0.0f64, |m, v| m.fmax(v.abs())).fmax(f64::MIN_POSITIVE);
    let point = |x: &ndarray::ArrayView2<f64>, t: usize| {
        [0, 1, 2].map(|d| if d < x.ncols() { (x[[t, d]] / scale) as f32 } else { 0.0 })
    };
    let mut segments = axes(BOX_AXES_ORIGIN, BOX_AXES_LENGTH);
    for (p, (x, closed)) in paths.iter().enumerate() {
        let points: Vec<[f32; 3]> = (0..x.nrows()).map(|t| point(x, t)).collect();
        let colours: Vec<[f32; 3]> = (0..x.nrows()).map(|t| colour(p, t)).collect();
        segments.extend(polyline(&points, &colours, *closed));
    }
    if let Some((p, t)) = marker.filter(|&(p, t)| p < paths.len() && t < paths[p].0.nrows()) {
        let centre = point(&paths[p].0, t);
        let black = [0.0, 0.0, 0.0];
        for axis in 0..3 {
            let (mut start, mut end) = (centre, centre);
            start[axis] -= 0.08;
            end[axis] += 0.08;
            segments.push(Segment { start, start_color: black, end, end_color: black });
        }
    }
    segments
}

/// Segments joining consecutive `points` (and the last to the first when `closed`).
pub fn polyline(points: &[[f32; 3]], colors: &[[f32; 3]], closed: bool) -> Vec<Segment> {
    let n = points.len().min(colors.len());
    let n_segments = if closed && n > 2 { n } else { n.saturating_sub(1) };
    (0..n_segments)
        .map(|i| {
            let j = (i + 1) % n;
            Segment { start: points[i], start_color: colors[i], end: points[j], end_color: colors[j] }
        })
        .collect()
}

/// Where [`paths_in_box`] draws its axes triad.
pub const BOX_AXES_ORIGIN: [f32; 3] = [-1.1, -1.1, -1.1];
pub const BOX_AXES_LENGTH: f32 = 0.5;

/// The far ends of the x, y and z lines that [`axes`] draws (where their names go).
pub fn axis_ends(origin: [f32; 3], length: f32) -> [[f32; 3]; 3] {
    [0, 1, 2].map(|axis| {
        let mut end = origin;
        end[axis] += length;
        end
    })
}

/// Three axis lines of `length` from `origin`, in grey.
pub fn axes(origin: [f32; 3], length: f32) -> Vec<Segment> {
    let grey = [0.6, 0.6, 0.6];
    (0..3)
        .map(|axis| {
            let mut end = origin;
            end[axis] += length;
            Segment { start: origin, start_color: grey, end, end_color: grey }
        })
        .collect()
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Uniforms {
    clip_from_world: [[f32; 4]; 4],
    viewport_px: [f32; 2],
    half_width_px: f32,
    srgb_target: f32,
}

const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// The colour the plot is cleared to (sRGB).
pub const BACKGROUND_SRGB: [f64; 3] = [0.98, 0.98, 0.99];

/// The format of offscreen renders (figure export, tests): tightly packed RGBA8 sRGB values.
pub const OFFSCREEN_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Pipelines (one pair per target format, made on first use), buffers and depth target,
/// created once and reused every frame.
pub struct Renderer3d {
    module: wgpu::ShaderModule,
    mesh_module: wgpu::ShaderModule,
    layout: wgpu::PipelineLayout,
    /// Per target format: the line pipeline and the triangle pipeline.
    pipelines: Vec<(wgpu::TextureFormat, wgpu::RenderPipeline, wgpu::RenderPipeline)>,
    uniforms: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    segments: Option<(wgpu::Buffer, u32)>,
    triangles: Option<(wgpu::Buffer, u32)>,
    depth: Option<(wgpu::TextureView, (u32, u32))>,
}

/// Writes `bytes` into the buffer in `slot` (made or grown to a power of two, at least
/// `min_size`), recording `count` items.
fn upload(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    slot: &mut Option<(wgpu::Buffer, u32)>,
    bytes: &[u8],
    count: usize,
    min_size: u64,
    label: &str,
) {
    let fits = slot.as_ref().is_some_and(|(buffer, _)| buffer.size() >= bytes.len() as u64);
    if !fits {
        let capacity = (bytes.len() as u64).next_power_of_two().max(min_size);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: capacity,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        *slot = Some((buffer, 0));
    }
    if let Some((buffer, n)) = slot {
        queue.write_buffer(buffer, 0, bytes);
        *n = count as u32;
    }
}

impl Renderer3d {
    pub fn new(device: &wgpu::Device) -> Self {
        let module = device.create_shader_module(wgpu::include_wgsl!("lines3d.wgsl"));
        let mesh_module = device.create_shader_module(wgpu::include_wgsl!("mesh3d.wgsl"));
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lines3d uniforms"),
            size: std::mem::size_of::<Uniforms>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind_group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("lines3d"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("lines3d"),
            layout: &bind_group_layout,
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: uniforms.as_entire_binding() }],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("lines3d"),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        Self {
            module,
            mesh_module,
            layout,
            pipelines: Vec::new(),
            uniforms,
            bind_group,
            segments: None,
            triangles: None,
            depth: None,
        }
    }

    fn pipeline(
        &self,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
        module: &wgpu::ShaderModule,
        buffer: wgpu::VertexBufferLayout<'_>,
        label: &str,
    ) -> wgpu::RenderPipeline {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(label),
            layout: Some(&self.layout),
            vertex: wgpu::VertexState {
                module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[Some(buffer)],
            },
            fragment: Some(wgpu::FragmentState {
                module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(format.into())],
            }),
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::LessEqual),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: wgpu::MultisampleState::default(),
            multiview_mask: None,
            cache: None,
        })
    }

    fn pipeline_index(&mut self, device: &wgpu::Device, format: wgpu::TextureFormat) -> usize {
        if let Some(idx) = self.pipelines.iter().position(|(f, _, _)| *f == format) {
            return idx;
        }
        const SEGMENT_ATTRIBUTES: [wgpu::VertexAttribute; 4] =
            wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x3, 3 => Float32x3];
        const MESH_ATTRIBUTES: [wgpu::VertexAttribute; 3] =
            wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x3];
        let lines = wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<Segment>() as u64,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &SEGMENT_ATTRIBUTES,
        };
        let mesh = wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<MeshVertex>() as u64,
            step_mode: wgpu::VertexStepMode::Vertex,
            attributes: &MESH_ATTRIBUTES,
        };
        let line_pipeline = self.pipeline(device, format, &self.module, lines, "lines3d");
        let mesh_pipeline = self.pipeline(device, format, &self.mesh_module, mesh, "mesh3d");
        self.pipelines.push((format, line_pipeline, mesh_pipeline));
        self.pipelines.len() - 1
    }

    /// Replaces what is drawn. The vertex buffer is reused while it is large enough; data goes
    /// through `Queue::write_buffer` (no mapped-at-creation buffers, which some browser
    /// implementations limit).
    pub fn set_segments(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, segments: &[Segment]) {
        let min_size = std::mem::size_of::<Segment>() as u64 * 64;
        let bytes = bytemuck::cast_slice(segments);
        upload(device, queue, &mut self.segments, bytes, segments.len(), min_size, "lines3d segments");
    }

    /// Replaces the shaded solids (three vertices per triangle), drawn beneath the lines.
    pub fn set_triangles(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, vertices: &[MeshVertex]) {
        let n = vertices.len() / 3 * 3;
        let min_size = std::mem::size_of::<MeshVertex>() as u64 * 96;
        let bytes = bytemuck::cast_slice(&vertices[..n]);
        upload(device, queue, &mut self.triangles, bytes, n, min_size, "mesh3d vertices");
    }

    /// Draws the segments into `target` (of `format` and `size_px`), seen through
    /// `clip_from_world` (column-major, as `nalgebra::Matrix4::into()` gives).
    #[allow(clippy::too_many_arguments)]
    pub fn render(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        target: &wgpu::TextureView,
        format: wgpu::TextureFormat,
        size_px: (u32, u32),
        clip_from_world: [[f32; 4]; 4],
        half_width_px: f32,
    ) {
        let size_px = (size_px.0.max(1), size_px.1.max(1));
        let pipeline_idx = self.pipeline_index(device, format);
        let srgb_target = format.is_srgb();
        if self.depth.as_ref().map(|(_, s)| *s) != Some(size_px) {
            let texture = device.create_texture(&wgpu::TextureDescriptor {
                label: Some("lines3d depth"),
                size: wgpu::Extent3d { width: size_px.0, height: size_px.1, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: DEPTH_FORMAT,
                usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
                view_formats: &[],
            });
            self.depth = Some((texture.create_view(&Default::default()), size_px));
        }
        let uniforms = Uniforms {
            clip_from_world,
            viewport_px: [size_px.0 as f32, size_px.1 as f32],
            half_width_px,
            srgb_target: if srgb_target { 1.0 } else { 0.0 },
        };
        queue.write_buffer(&self.uniforms, 0, bytemuck::bytes_of(&uniforms));
        let background = if srgb_target { BACKGROUND_SRGB.map(srgb_to_linear) } else { BACKGROUND_SRGB };
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let depth_view = &self.depth.as_ref().expect("depth target created above").0;
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("lines3d"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color {
                            r: background[0],
                            g: background[1],
                            b: background[2],
                            a: 1.0,
                        }),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: depth_view,
                    depth_ops: Some(wgpu::Operations { load: wgpu::LoadOp::Clear(1.0), store: wgpu::StoreOp::Store }),
                    stencil_ops: None,
                }),
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_bind_group(0, &self.bind_group, &[]);
            if let Some((buffer, n_vertices)) = self.triangles.as_ref().filter(|(_, n)| *n > 0) {
                pass.set_pipeline(&self.pipelines[pipeline_idx].2);
                pass.set_vertex_buffer(0, buffer.slice(..));
                pass.draw(0..*n_vertices, 0..1);
            }
            if let Some((buffer, n_segments)) = self.segments.as_ref().filter(|(_, n)| *n > 0) {
                pass.set_pipeline(&self.pipelines[pipeline_idx].1);
                pass.set_vertex_buffer(0, buffer.slice(..));
                pass.draw(0..6, 0..*n_segments);
            }
        }
        queue.submit([encoder.finish()]);
    }
}

impl Renderer3d {
    /// Renders into an offscreen texture and reads it back as tightly packed RGBA8 rows
    /// (sRGB values), for figure export and tests.
    pub async fn render_offscreen(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        size_px: (u32, u32),
        clip_from_world: [[f32; 4]; 4],
        half_width_px: f32,
    ) -> Result<Vec<u8>, GpuError> {
        let (width, height) = (size_px.0.max(1), size_px.1.max(1));
        let extent = wgpu::Extent3d { width, height, depth_or_array_layers: 1 };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("lines3d offscreen"),
            size: extent,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: OFFSCREEN_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&Default::default());
        self.render(device, queue, &view, OFFSCREEN_FORMAT, (width, height), clip_from_world, half_width_px);
        // Texture-to-buffer copies need rows padded to 256 bytes.
        let padded_row = (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let padded = read_back(device, queue, u64::from(padded_row * height), |encoder, staging| {
            encoder.copy_texture_to_buffer(
                texture.as_image_copy(),
                wgpu::TexelCopyBufferInfo {
                    buffer: staging,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(padded_row),
                        rows_per_image: Some(height),
                    },
                },
                extent,
            )
        })
        .await?;
        Ok(padded.chunks(padded_row as usize).flat_map(|row| &row[..(width * 4) as usize]).copied().collect())
    }
}

fn srgb_to_linear(c: f64) -> f64 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::gpu::GpuContext;
    use crate::plot::camera::OrbitCamera;

    const SIZE: (u32, u32) = (96, 64);

    /// Renders offscreen and reads back RGBA8 pixels, row-major.
    fn render_pixels(segments: &[Segment], camera: &OrbitCamera) -> Vec<[u8; 4]> {
        render_scene(segments, &[], camera)
    }

    fn render_scene(segments: &[Segment], triangles: &[MeshVertex], camera: &OrbitCamera) -> Vec<[u8; 4]> {
        let ctx = GpuContext::native().expect("a GPU adapter (lavapipe from mesa-vulkan-drivers in CI)");
        let mut renderer = Renderer3d::new(&ctx.device);
        renderer.set_segments(&ctx.device, &ctx.queue, segments);
        renderer.set_triangles(&ctx.device, &ctx.queue, triangles);
        let matrix = camera.clip_from_world(SIZE.0 as f32 / SIZE.1 as f32);
        let rgba =
            pollster::block_on(renderer.render_offscreen(&ctx.device, &ctx.queue, SIZE, matrix.into(), 2.0)).unwrap();
        assert_eq!(rgba.len(), (SIZE.0 * SIZE.1 * 4) as usize);
        rgba.chunks(4).map(|p| [p[0], p[1], p[2], p[3]]).collect()
    }

    #[test]
    fn a_segment_through_the_target_covers_the_centre_pixel_in_its_colour() {
        let camera = OrbitCamera { target: [0.0; 3], distance: 3.0, ..Default::default() };
        let red = [1.0, 0.0, 0.0];
        let segment = Segment { start: [-0.5, 0.0, 0.0], start_color: red, end: [0.5, 0.0, 0.0], end_color: red };
        let pixels = render_pixels(&[segment], &camera);
        let centre = pixels[(SIZE.1 / 2 * SIZE.0 + SIZE.0 / 2) as usize];
        assert_eq!(centre, [255, 0, 0, 255]);
        // A corner stays the background colour; the line covers a thin band, not the image.
        assert_eq!(pixels[0], [250, 250, 252, 255]);
        let red_count = pixels.iter().filter(|p| **p == [255, 0, 0, 255]).count();
        assert!(red_count > 20 && red_count < pixels.len() / 4, "{red_count} red pixels");
    }

    #[test]
    fn nearer_segment_hides_the_farther_one() {
        let camera = OrbitCamera { yaw_rad: 0.0, pitch_rad: 0.0, distance: 3.0, ..Default::default() };
        // Camera on +z looking at the origin: the blue segment at z = +0.5 is in front.
        let red = [1.0, 0.0, 0.0];
        let blue = [0.0, 0.0, 1.0];
        let far = Segment { start: [-1.0, 0.0, -0.5], start_color: red, end: [1.0, 0.0, -0.5], end_color: red };
        let near = Segment { start: [0.0, -1.0, 0.5], start_color: blue, end: [0.0, 1.0, 0.5], end_color: blue };
        for order in [[far, near], [near, far]] {
            let pixels = render_pixels(&order, &camera);
            assert_eq!(pixels[(SIZE.1 / 2 * SIZE.0 + SIZE.0 / 2) as usize], [0, 0, 255, 255]);
        }
    }

    #[test]
    fn a_sphere_is_shaded_lit_from_above_and_a_line_in_front_of_it_hides_it() {
        let camera = OrbitCamera { yaw_rad: 0.0, pitch_rad: 0.0, distance: 3.0, ..Default::default() };
        let mut sphere = Vec::new();
        crate::plot::mesh3d::capsule(&mut sphere, [0.0; 3], [0.0; 3], 0.6, [0.8, 0.8, 0.8]);
        let pixels = render_scene(&[], &sphere, &camera);
        let at = |x: u32, y: u32| pixels[(y * SIZE.0 + x) as usize];
        let centre = at(SIZE.0 / 2, SIZE.1 / 2);
        assert_ne!(centre, [250, 250, 252, 255], "the sphere covers the centre");
        assert_eq!(at(0, 0), [250, 250, 252, 255], "and not the corner");
        // The key light comes from above: the upper part of the sphere is brighter than the lower.
        let (upper, lower) = (at(SIZE.0 / 2, SIZE.1 / 2 - 12), at(SIZE.0 / 2, SIZE.1 / 2 + 12));
        assert!(upper[0] > lower[0], "upper {upper:?} vs lower {lower:?}");
        let red = [1.0, 0.0, 0.0];
        let front = Segment { start: [-1.0, 0.0, 0.8], start_color: red, end: [1.0, 0.0, 0.8], end_color: red };
        let behind = Segment { start: [-1.0, 0.1, -0.8], start_color: red, end: [1.0, 0.1, -0.8], end_color: red };
        let pixels = render_scene(&[front, behind], &sphere, &camera);
        assert_eq!(pixels[(SIZE.1 / 2 * SIZE.0 + SIZE.0 / 2) as usize], [255, 0, 0, 255], "line in front");
        let hidden = pixels[((SIZE.1 / 2 - 3) * SIZE.0 + SIZE.0 / 2) as usize];
        assert_ne!(hidden, [255, 0, 0, 255], "the line behind the sphere is hidden");
    }

    #[test]
    fn trajectories_are_scaled_together_into_the_box() {
        let x = ndarray::Array3::from_shape_fn((2, 3, 2), |(p, t, d)| (p * 10 + t * 2 + d) as f64);
        let segments = trajectories_in_box(x.view(), false, |p, _| [p as f32, 0.0, 0.0]);
        // 3 axes, then 2 segments per open path of 3 samples.
        assert_eq!(segments.len(), 3 + 2 * 2);
        let largest = 15.0; // x[1, 2, 1]
        assert_eq!(segments[3].start, [0.0, 1.0 / largest as f32, 0.0]);
        assert_eq!(segments[6].end, [14.0 / largest as f32, 1.0, 0.0]);
        assert_eq!(segments[5].start_color, [1.0, 0.0, 0.0]);
        assert_eq!(trajectories_in_box(x.view(), true, |_, _| [0.0; 3]).len(), 3 + 2 * 3);
    }

    #[test]
    fn paths_of_different_lengths_share_one_scale_and_the_marker_sits_on_its_vertex() {
        let short = ndarray::array![[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]];
        let long = ndarray::Array2::from_shape_fn((5, 3), |(t, d)| if d == 0 { -4.0 + t as f64 } else { 0.0 });
        let segments = paths_in_box(&[(short.view(), true), (long.view(), false)], |p, _| [p as f32; 3], Some((0, 1)));
        // 3 axes, 3 segments of the closed triangle, 4 of the open line, 3 of the cross.
        assert_eq!(segments.len(), 3 + 3 + 4 + 3);
        assert_eq!(segments[3].end, [0.0, 0.5, 0.0], "the largest |coordinate| (4) scales both");
        assert_eq!(segments[6].start, [-1.0, 0.0, 0.0]);
        let cross = &segments[10..];
        assert!(cross.iter().all(|s| s.start_color == [0.0; 3]));
        let centre = |s: &Segment| [0, 1, 2].map(|d| (s.start[d] + s.end[d]) / 2.0);
        assert!(cross.iter().all(|s| centre(s) == [0.0, 0.5, 0.0]));
        // A marker off the paths is not drawn.
        assert_eq!(paths_in_box(&[(short.view(), true)], |_, _| [0.0; 3], Some((0, 9))).len(), 3 + 3);
    }

    #[test]
    fn polyline_closes_when_asked() {
        let pts = [[0.0; 3], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]];
        let cols = [[0.0; 3]; 3];
        assert_eq!(polyline(&pts, &cols, false).len(), 2);
        let closed = polyline(&pts, &cols, true);
        assert_eq!(closed.len(), 3);
        assert_eq!(closed[2].end, pts[0]);
    }
}
