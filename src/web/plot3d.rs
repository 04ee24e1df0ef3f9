//! A 3D plot on a `<canvas>`: draws lines and optional shaded solids with
//! `plot::lines3d::Renderer3d` on the page's WebGPU device, or, where the browser has no WebGPU,
//! with its CPU twin `plot::raster` on the canvas's 2D context (`plot_software`); maps mouse input onto
//! `plot::camera::OrbitCamera`: drag to orbit, wheel to zoom, double-click to reset; with
//! `follow`, the camera's target tracks a moving point (a robot's base). A view the user turned
//! is recorded in the notebook document (`NotebookDoc::views`, by the view's id), so a permalink
//! reopens it as it was seen. If neither can draw, it says so and the rest of the cell keeps
//! working.

use crate::fmath::FloatExt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::plot_gpu;
use super::plot_software::SoftwareView;
use super::shell::download;
use crate::notebook::{NotebookDoc, ViewCamera};
use crate::plot::camera::OrbitCamera;
use crate::plot::lines3d::{Renderer3d, Segment};
use crate::plot::mesh3d::MeshVertex;
use nalgebra::Matrix4;

use super::figure_png::labelled_png;
pub use super::figure_png::{ColourBar, FigureLabels};

/// Radius of the region the default camera frames.
const FRAME_RADIUS: f32 = 1.25;
const LINE_HALF_WIDTH_PX: f32 = 1.6;

/// The canvas's GPU objects, created once; the device is the page's shared one (`plot_gpu`).
struct GpuView {
    canvas: web_sys::HtmlCanvasElement,
    surface: wgpu::Surface<'static>,
    device: wgpu::Device,
    queue: wgpu::Queue,
    config: wgpu::SurfaceConfiguration,
    renderer: Renderer3d,
    description: String,
    /// What is drawn, kept for the export device.
    segments: Vec<Segment>,
    triangles: Vec<MeshVertex>,
    /// This view's renderer on the shared export device (WebGPU), made on first export.
    export: Option<(wgpu::Device, wgpu::Queue, Renderer3d)>,
}

/// Canvas size in device pixels, from its CSS size.
fn device_size(canvas: &web_sys::HtmlCanvasElement) -> (u32, u32) {
    let dpr = window().device_pixel_ratio().fmax(1.0);
    let w = (f64::from(canvas.client_width().max(1)) * dpr).round() as u32;
    let h = (f64::from(canvas.client_height().max(1)) * dpr).round() as u32;
    (w.clamp(1, 4096), h.clamp(1, 4096))
}

impl GpuView {
    /// A surface on the page's shared WebGPU device; Err when this browser has none.
    async fn new(canvas: web_sys::HtmlCanvasElement) -> Result<Self, String> {
        let shared = plot_gpu::presenting().await?;
        let surface = shared
            .instance
            .create_surface(wgpu::SurfaceTarget::Canvas(canvas.clone()))
            .map_err(|e| format!("cannot draw on the canvas ({e})"))?;
        Self::on_surface(canvas, surface, &shared.adapter, shared.device.clone(), shared.queue.clone())
    }

    fn on_surface(
        canvas: web_sys::HtmlCanvasElement,
        surface: wgpu::Surface<'static>,
        adapter: &wgpu::Adapter,
        device: wgpu::Device,
        queue: wgpu::Queue,
    ) -> Result<Self, String> {
        let (width, height) = device_size(&canvas);
        canvas.set_width(width);
        canvas.set_height(height);
        let config = surface
            .get_default_config(adapter, width, height)
            .ok_or_else(|| "the canvas cannot be drawn on by this adapter".to_string())?;
        surface.configure(&device, &config);
        let renderer = Renderer3d::new(&device);
        let info = adapter.get_info();
        let name = if info.name.is_empty() { String::from("browser adapter") } else { info.name.clone() };
        Ok(Self {
            canvas,
            surface,
            device,
            queue,
            config,
            renderer,
            description: format!("WebGPU · {name}"),
            segments: Vec::new(),
            triangles: Vec::new(),
            export: None,
        })
    }

    fn set_scene(&mut self, segments: &[Segment], triangles: &[MeshVertex]) {
        self.renderer.set_segments(&self.device, &self.queue, segments);
        self.renderer.set_triangles(&self.device, &self.queue, triangles);
        self.segments = segments.to_vec();
        self.triangles = triangles.to_vec();
    }

    fn draw(&mut self, camera: &OrbitCamera) {
        let size = device_size(&self.canvas);
        if size != (self.config.width, self.config.height) {
            self.canvas.set_width(size.0);
            self.canvas.set_height(size.1);
            self.config.width = size.0;
            self.config.height = size.1;
            self.surface.configure(&self.device, &self.config);
        }
        let frame = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(frame) | wgpu::CurrentSurfaceTexture::Suboptimal(frame) => frame,
            _ => {
                self.surface.configure(&self.device, &self.config);
                return;
            }
        };
        let view = frame.texture.create_view(&Default::default());
        let clip_from_world = camera.clip_from_world(size.0 as f32 / size.1 as f32);
        let dpr = window().device_pixel_ratio().fmax(1.0) as f32;
        self.renderer.render(
            &self.device,
            &self.queue,
            &view,
            self.config.format,
            size,
            clip_from_world.into(),
            LINE_HALF_WIDTH_PX * dpr,
        );
        self.queue.present(frame);
    }
}

/// Figure export renders at this multiple of the on-screen CSS size.
const EXPORT_SCALE: u32 = 2;

/// The size figure export renders `canvas` at: `EXPORT_SCALE`× its CSS size.
fn export_size(canvas: &web_sys::HtmlCanvasElement) -> (u32, u32) {
    (canvas.client_width().max(1) as u32 * EXPORT_SCALE, canvas.client_height().max(1) as u32 * EXPORT_SCALE)
}

impl GpuView {
    /// The current view rendered at `EXPORT_SCALE`× the canvas's CSS size: RGBA pixels, their
    /// size and the camera matrix they were drawn with.
    async fn export_rgba(&mut self, camera: &OrbitCamera) -> Result<(Vec<u8>, (u32, u32), Matrix4<f32>), String> {
        let (width, height) = export_size(&self.canvas);
        let clip_from_world = camera.clip_from_world(width as f32 / height as f32);
        let half_width = LINE_HALF_WIDTH_PX * EXPORT_SCALE as f32;
        if self.export.is_none() {
            let shared = plot_gpu::exporting().await.map_err(|e| format!("no device for export: {e}"))?;
            let renderer = Renderer3d::new(&shared.device);
            self.export = Some((shared.device.clone(), shared.queue.clone(), renderer));
        }
        let (device, queue, renderer) = self.export.as_mut().expect("created above");
        renderer.set_segments(device, queue, &self.segments);
        renderer.set_triangles(device, queue, &self.triangles);
        let rgba = renderer
            .render_offscreen(device, queue, (width, height), clip_from_world.into(), half_width)
            .await
            .map_err(|e| e.to_string())?;
        Ok((rgba, (width, height), clip_from_world))
    }
}

/// How a canvas is drawn: on the GPU, or in software where the browser has no WebGPU.
enum View3d {
    Gpu(Box<GpuView>),
    Software(SoftwareView),
}

impl View3d {
    /// WebGPU where the browser has it, else the software renderer on a 2D context.
    async fn open(canvas: web_sys::HtmlCanvasElement) -> Result<Self, String> {
        match GpuView::new(canvas.clone()).await {
            Ok(view) => Ok(Self::Gpu(Box::new(view))),
            Err(webgpu_error) => {
                SoftwareView::new(canvas).map(Self::Software).map_err(|e| format!("{e}; WebGPU: {webgpu_error}"))
            }
        }
    }

    /// What draws this view, for its status line.
    fn description(&self) -> String {
        match self {
            Self::Gpu(view) => view.description.clone(),
            Self::Software(_) => String::from("software renderer (this browser has no WebGPU)"),
        }
    }

    fn set_scene(&mut self, segments: &[Segment], triangles: &[MeshVertex]) {
        match self {
            Self::Gpu(view) => view.set_scene(segments, triangles),
            Self::Software(view) => view.set_scene(segments, triangles),
        }
    }

    fn draw(&mut self, camera: &OrbitCamera) {
        match self {
            Self::Gpu(view) => view.draw(camera),
            Self::Software(view) => {
                let size = device_size(view.canvas());
                let dpr = window().device_pixel_ratio().fmax(1.0) as f32;
                view.draw(camera, size, LINE_HALF_WIDTH_PX * dpr);
            }
        }
    }

    /// The current view as a PNG figure at `EXPORT_SCALE`× its CSS size, with `labels` around
    /// it when given.
    async fn export_png(&mut self, camera: &OrbitCamera, labels: Option<&FigureLabels>) -> Result<Vec<u8>, String> {
        let (rgba, size, clip_from_world) = match self {
            Self::Gpu(view) => view.export_rgba(camera).await?,
            Self::Software(view) => {
                let size = export_size(view.canvas());
                view.render_rgba(camera, size, LINE_HALF_WIDTH_PX * EXPORT_SCALE as f32)
            }
        };
        match labels {
            Some(labels) => labelled_png(&rgba, size, &clip_from_world, labels, f64::from(EXPORT_SCALE)),
            None => crate::plot::png::encode_rgba(size.0, size.1, &rgba).map_err(|e| e.to_string()),
        }
    }
}

fn default_camera() -> OrbitCamera {
    OrbitCamera::framing([0.0; 3], FRAME_RADIUS)
}

/// The default camera turned as `view` says (None: as it comes), looking at `target`.
fn camera_for(view: Option<ViewCamera>, target: [f32; 3]) -> OrbitCamera {
    let mut camera = default_camera();
    if let Some(v) = view {
        camera.yaw_rad = v.yaw_rad;
        camera.pitch_rad = v.pitch_rad;
        camera.distance = v.distance;
    }
    camera.target = target;
    camera
}

/// What a link records of `camera`.
fn view_of(camera: &OrbitCamera) -> ViewCamera {
    ViewCamera { yaw_rad: camera.yaw_rad, pitch_rad: camera.pitch_rad, distance: camera.distance }
}

/// `triangles`: shaded solids drawn beneath the lines; `follow`: the point the camera orbits,
/// tracked as it moves (a drag or zoom keeps its angle and distance); `labels`: the title, axis
/// names and colour bar of the PNG export.
#[component]
pub fn Plot3d(
    id: &'static str,
    segments: Signal<Vec<Segment>>,
    #[prop(optional)] triangles: Option<Signal<Vec<MeshVertex>>>,
    #[prop(optional)] follow: Option<Signal<[f32; 3]>>,
    #[prop(optional, into)] labels: Option<Signal<FigureLabels>>,
) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let view3d: StoredValue<Option<View3d>, LocalStorage> = StoredValue::new_local(None);
    let ready = RwSignal::new(false);
    let status = RwSignal::new(String::from("starting graphics…"));
    let failed = RwSignal::new(false);
    // The document (provided by the app) records where the user turned this view.
    let doc = use_context::<RwSignal<NotebookDoc>>();
    let linked_view = Memo::new(move |_| doc.and_then(|d| d.with(|d| d.views.get(id).copied())));
    let target_now = move || follow.map(|f| f.get_untracked()).unwrap_or([0.0; 3]);
    let camera = RwSignal::new(camera_for(linked_view.get_untracked(), target_now()));
    // The user finished turning or zooming: record the view (a reset removes the record).
    let record_view = move |camera: &OrbitCamera| {
        let Some(doc) = doc else { return };
        let view = (camera_for(None, camera.target) != *camera).then(|| view_of(camera));
        if doc.with_untracked(|d| d.views.get(id).copied()) != view {
            doc.update(|d| match view {
                Some(v) => {
                    d.views.insert(id.to_string(), v);
                }
                None => {
                    d.views.remove(id);
                }
            });
        }
    };
    // A link opened in this tab turns the view as it says.
    Effect::new(move |_| {
        let view = linked_view.get();
        let current = camera.get_untracked();
        if view != Some(view_of(&current)) && !(view.is_none() && camera_for(None, current.target) == current) {
            camera.set(camera_for(view, current.target));
        }
    });
    let drag_from = StoredValue::new(None::<(i32, i32)>);

    // Open the view (GPU or software) once the canvas is in the page.
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        let Some(canvas) = canvas_ref.get() else { return false };
        let wheel_canvas = canvas.clone();
        gloo::events::EventListener::new_with_options(
            &wheel_canvas,
            "wheel",
            gloo::events::EventListenerOptions::enable_prevent_default(),
            move |event| {
                if let Some(wheel) = event.dyn_ref::<web_sys::WheelEvent>() {
                    event.prevent_default();
                    camera.update(|c| c.zoom(wheel.delta_y() as f32));
                    record_view(&camera.get_untracked());
                }
            },
        )
        .forget();
        spawn_local(async move {
            match View3d::open(canvas).await {
                Ok(view) => {
                    status.set(view.description());
                    view3d.set_value(Some(view));
                    ready.set(true);
                }
                Err(e) => {
                    status.set(format!("No 3D view: {e}. The numbers and the 2D plot still work."));
                    failed.set(true);
                }
            }
        });
        true
    });
    // New data: upload and draw.
    Effect::new(move |_| {
        let segments = segments.get();
        let triangles = triangles.map(|t| t.get()).unwrap_or_default();
        if let Some(target) = follow.map(|f| f.get()) {
            if camera.get_untracked().target != target {
                // Drawn by the camera effect below, after this upload.
                camera.update_untracked(|c| c.target = target);
            }
        }
        if ready.get() {
            view3d.update_value(|view| {
                if let Some(view) = view {
                    view.set_scene(&segments, &triangles);
                    view.draw(&camera.get_untracked());
                }
            });
        }
    });
    // Camera moved: draw.
    Effect::new(move |_| {
        let camera = camera.get();
        if ready.get_untracked() {
            view3d.update_value(|view| {
                if let Some(view) = view {
                    view.draw(&camera);
                }
            });
        }
    });

    let on_down = move |ev: web_sys::PointerEvent| {
        drag_from.set_value(Some((ev.client_x(), ev.client_y())));
        if let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
            let _ = target.set_pointer_capture(ev.pointer_id());
        }
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        if let Some((x0, y0)) = drag_from.get_value() {
            let (x, y) = (ev.client_x(), ev.client_y());
            drag_from.set_value(Some((x, y)));
            camera.update(|c| c.orbit((x - x0) as f32, (y - y0) as f32));
        }
    };
    let on_up = move |_: web_sys::PointerEvent| {
        if drag_from.get_value().is_some() {
            drag_from.set_value(None);
            record_view(&camera.get_untracked());
        }
    };
    let exporting = RwSignal::new(false);
    let export_error = RwSignal::new(None::<String>);
    let save_png = move |_| {
        // The view is taken out of its slot while it renders, so no frame can borrow it.
        let Some(mut view) = view3d.try_update_value(Option::take).flatten() else { return };
        exporting.set(true);
        spawn_local(async move {
            let labels = labels.map(|l| l.get_untracked());
            let result = view.export_png(&camera.get_untracked(), labels.as_ref()).await;
            view3d.set_value(Some(view));
            exporting.set(false);
            export_error.set(result.and_then(|png| download(&png, &format!("tanglelab-{id}.png"), "image/png")).err());
        });
    };

    view! {
        <div class="plot3d">
            <canvas id=id node_ref=canvas_ref class:hidden=move || failed.get()
                data-camera=move || camera.with(|c| format!("{:.4},{:.4},{:.4}", c.yaw_rad, c.pitch_rad, c.distance))
                on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up on:pointercancel=on_up
                on:dblclick=move |_| {
                    let reset = camera_for(None, target_now());
                    camera.set(reset);
                    record_view(&reset);
                }></canvas>
            <p class="plot3d-status" class:error=move || failed.get() data-ready=move || ready.get().to_string()>
                {move || status.get()}
                <Show when=move || ready.get()>
                    " · "
                    <button class="link" id=format!("{id}-png") on:click=save_png disabled=move || exporting.get()>
                        {move || if exporting.get() { "rendering…" } else { "save PNG" }}
                    </button>
                </Show>
                <Show when=move || export_error.get().is_some()>
                    <span class="error">" Could not export: "{move || export_error.get().unwrap_or_default()}</span>
                </Show>
            </p>
        </div>
    }
}
