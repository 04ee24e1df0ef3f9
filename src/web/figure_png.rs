//! A 3D view's PNG export with what makes it a figure: a title above the picture, the axes'
//! names at the ends of the axes triad (projected with the view's camera) and, where colour
//! encodes a value, a viridis colour bar with its range and label. The picture the GPU rendered
//! is put on a 2D canvas, the text drawn with the browser's fonts, and the result encoded by
//! `plot::png` like every other export.

use leptos::prelude::*;
use nalgebra::Matrix4;
use wasm_bindgen::{Clamped, JsCast};

use crate::plot::camera::pixel_of;
use crate::plot::colormap::viridis;
use crate::plot::lines3d::{axis_ends, BACKGROUND_SRGB, BOX_AXES_LENGTH, BOX_AXES_ORIGIN};

/// A colour scale: what the colour means and the values at its two ends.
#[derive(Debug, Clone, PartialEq)]
pub struct ColourBar {
    pub label: String,
    pub lo: String,
    pub hi: String,
}

/// What an exported 3D figure says around the picture.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FigureLabels {
    pub title: String,
    /// Names of the x, y and z axes and the world points their names are drawn at.
    pub axes: Option<([String; 3], [[f32; 3]; 3])>,
    pub colour_bar: Option<ColourBar>,
}

impl FigureLabels {
    /// A figure drawn by `plot::lines3d::paths_in_box` (its axes triad at the box's corner).
    pub fn boxed(title: impl Into<String>, axes: [&str; 3], colour_bar: Option<ColourBar>) -> Self {
        Self {
            title: title.into(),
            axes: Some((axes.map(String::from), axis_ends(BOX_AXES_ORIGIN, BOX_AXES_LENGTH))),
            colour_bar,
        }
    }
}

/// Height of the title band and width of the colour-bar band, in CSS pixels (× the export scale).
const TITLE_BAND_PX: f64 = 30.0;
const BAR_BAND_PX: f64 = 110.0;

fn css_colour(rgb: [f64; 3]) -> String {
    let c = rgb.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
    format!("rgb({}, {}, {})", c[0], c[1], c[2])
}

/// The rendered `rgba` (`size` pixels, drawn with `clip_from_world`) with `labels` around it, as
/// PNG bytes; `scale` is the export's pixels per CSS pixel.
pub fn labelled_png(
    rgba: &[u8],
    size: (u32, u32),
    clip_from_world: &Matrix4<f32>,
    labels: &FigureLabels,
    scale: f64,
) -> Result<Vec<u8>, String> {
    let (w, h) = size;
    let top = (TITLE_BAND_PX * scale).round() as u32;
    let right = if labels.colour_bar.is_some() { (BAR_BAND_PX * scale).round() as u32 } else { 0 };
    let (total_w, total_h) = (w + right, h + top);
    let canvas: web_sys::HtmlCanvasElement = document()
        .create_element("canvas")
        .map_err(|_| "cannot make a canvas".to_string())?
        .dyn_into()
        .map_err(|_| "cannot make a canvas".to_string())?;
    canvas.set_width(total_w);
    canvas.set_height(total_h);
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or_else(|| "this browser has no 2D canvas".to_string())?;
    ctx.set_fill_style_str(&css_colour(BACKGROUND_SRGB));
    ctx.fill_rect(0.0, 0.0, f64::from(total_w), f64::from(total_h));
    let picture = web_sys::ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), w, h)
        .map_err(|_| "the rendered picture has the wrong size".to_string())?;
    ctx.put_image_data(&picture, 0.0, f64::from(top)).map_err(|_| "cannot place the picture".to_string())?;

    let font =
        |px: f64, bold: bool| format!("{}{}px sans-serif", if bold { "bold " } else { "" }, (px * scale).round());
    ctx.set_fill_style_str("#222");
    ctx.set_text_baseline("middle");
    ctx.set_font(&font(15.0, true));
    let _ = ctx.fill_text(&labels.title, 10.0 * scale, f64::from(top) / 2.0);

    if let Some((names, ends)) = &labels.axes {
        ctx.set_font(&font(12.0, false));
        for (name, end) in names.iter().zip(ends) {
            if let Some((x, y)) = pixel_of(clip_from_world, *end, size) {
                let _ = ctx.fill_text(name, f64::from(x) + 4.0 * scale, f64::from(y) + f64::from(top));
            }
        }
    }

    if let Some(bar) = &labels.colour_bar {
        // A vertical ramp, high at the top, with the range beside it and the label above.
        let x0 = f64::from(w) + 14.0 * scale;
        let (y0, y1) = (f64::from(top) + 34.0 * scale, f64::from(total_h) - 24.0 * scale);
        let bar_w = 16.0 * scale;
        let steps = 64;
        for k in 0..steps {
            let frac = 1.0 - (k as f64 + 0.5) / steps as f64;
            ctx.set_fill_style_str(&css_colour(viridis(frac).map(f64::from)));
            let y = y0 + (y1 - y0) * k as f64 / steps as f64;
            ctx.fill_rect(x0, y, bar_w, (y1 - y0) / steps as f64 + 1.0);
        }
        ctx.set_fill_style_str("#222");
        ctx.set_font(&font(12.0, false));
        let _ = ctx.fill_text(&bar.hi, x0 + bar_w + 5.0 * scale, y0);
        let _ = ctx.fill_text(&bar.lo, x0 + bar_w + 5.0 * scale, y1);
        let _ = ctx.fill_text(&bar.label, x0, y0 - 16.0 * scale);
    }

    let pixels = ctx
        .get_image_data(0.0, 0.0, f64::from(total_w), f64::from(total_h))
        .map_err(|_| "cannot read the figure back".to_string())?
        .data();
    crate::plot::png::encode_rgba(total_w, total_h, &pixels.0).map_err(|e| e.to_string())
}
