//! Plots: colormaps, the orbit camera, SVG 2D line plots, meshes of shaded solids and the wgpu
//! 3D renderer of lines and solids, with its software twin.
//!
//! Nothing here knows about Leptos or the notebook; the renderer takes a device, a target
//! texture format and plain vertex data.

pub mod bench_scene;
pub mod camera;
pub mod colormap;
pub mod lines3d;
pub mod mesh3d;
pub mod png;
pub mod raster;
pub mod svg;
