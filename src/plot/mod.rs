//! Plots: colormaps, the orbit camera, SVG 2D line plots and the wgpu 3D line renderer.
//!
//! Nothing here knows about Leptos or the notebook; the renderer takes a device, a target
//! texture format and plain vertex data.

pub mod camera;
pub mod colormap;
pub mod lines3d;
pub mod png;
pub mod svg;
