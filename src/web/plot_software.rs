//! A 3D view drawn without a GPU API: `plot::raster::SoftwareRenderer` (the CPU twin of the WGSL
//! pass) renders into RGBA pixels that are put on the canvas through its 2D context. The page uses
//! it where the browser has no WebGPU, so every 3D figure is still drawn, turned and exported
//! (the page carries no WebGL2 backend: wgpu-core and naga for it were 1.1 MB of its 2.7 MB gzip).

use wasm_bindgen::{Clamped, JsCast};

use crate::plot::camera::OrbitCamera;
use crate::plot::lines3d::Segment;
use crate::plot::mesh3d::MeshVertex;
use crate::plot::raster::{clamped_size, SoftwareRenderer};
use nalgebra::Matrix4;

/// The canvas's 2D context and the software renderer's buffers.
pub struct SoftwareView {
    canvas: web_sys::HtmlCanvasElement,
    context: web_sys::CanvasRenderingContext2d,
    renderer: SoftwareRenderer,
    segments: Vec<Segment>,
    triangles: Vec<MeshVertex>,
}

impl SoftwareView {
    pub fn new(canvas: web_sys::HtmlCanvasElement) -> Result<Self, String> {
        let context = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
            .ok_or_else(|| "the canvas gives no 2D context".to_string())?;
        Ok(Self { canvas, context, renderer: SoftwareRenderer::new(), segments: Vec::new(), triangles: Vec::new() })
    }

    pub fn canvas(&self) -> &web_sys::HtmlCanvasElement {
        &self.canvas
    }

    pub fn set_scene(&mut self, segments: &[Segment], triangles: &[MeshVertex]) {
        self.segments = segments.to_vec();
        self.triangles = triangles.to_vec();
    }

    /// Renders the scene at the canvas's device-pixel size and puts it on the canvas.
    pub fn draw(&mut self, camera: &OrbitCamera, size: (u32, u32), half_width_px: f32) {
        let size = clamped_size(size);
        if (self.canvas.width(), self.canvas.height()) != size {
            self.canvas.set_width(size.0);
            self.canvas.set_height(size.1);
        }
        let (rgba, _) = self.render(camera, size, half_width_px);
        match web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), size.0, size.1) {
            Ok(image) => {
                if let Err(e) = self.context.put_image_data(&image, 0.0, 0.0) {
                    web_sys::console::error_1(&format!("could not draw the 3D view: {e:?}").into());
                }
            }
            Err(e) => web_sys::console::error_1(&format!("could not draw the 3D view: {e:?}").into()),
        }
    }

    /// The scene rendered at about `size` (for figure export): RGBA pixels, the size they have
    /// (`raster::clamped_size`) and the camera matrix they were drawn with.
    pub fn render_rgba(
        &mut self,
        camera: &OrbitCamera,
        size: (u32, u32),
        half_width_px: f32,
    ) -> (Vec<u8>, (u32, u32), Matrix4<f32>) {
        let size = clamped_size(size);
        let (rgba, clip_from_world) = self.render(camera, size, half_width_px);
        (rgba.to_vec(), size, clip_from_world)
    }

    /// The scene at `size` (already clamped): its RGBA pixels and the camera matrix.
    fn render(&mut self, camera: &OrbitCamera, size: (u32, u32), half_width_px: f32) -> (&[u8], Matrix4<f32>) {
        let clip_from_world = camera.clip_from_world(size.0 as f32 / size.1 as f32);
        let rgba = self.renderer.render(&self.segments, &self.triangles, size, clip_from_world.into(), half_width_px);
        (rgba, clip_from_world)
    }
}
