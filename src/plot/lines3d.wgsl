// Screen-space thick 3D line segments: each instance is one segment, drawn as a quad of 6 vertices
// whose corners are pushed sideways in screen space by half_width_px.

struct Uniforms {
    clip_from_world: mat4x4<f32>,
    viewport_px: vec2<f32>,
    half_width_px: f32,
    // 1.0 when the target is an sRGB format: colours (given in sRGB) are linearised first.
    srgb_target: f32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;

struct SegmentIn {
    @location(0) start: vec3<f32>,
    @location(1) start_color: vec3<f32>,
    @location(2) end: vec3<f32>,
    @location(3) end_color: vec3<f32>,
}

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) color: vec3<f32>,
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

@vertex
fn vs_main(@builtin(vertex_index) vertex_idx: u32, s: SegmentIn) -> VsOut {
    var along = array<f32, 6>(0.0, 1.0, 0.0, 0.0, 1.0, 1.0);
    var side = array<f32, 6>(-1.0, -1.0, 1.0, 1.0, -1.0, 1.0);
    let t = along[vertex_idx];
    let a = u.clip_from_world * vec4<f32>(s.start, 1.0);
    let b = u.clip_from_world * vec4<f32>(s.end, 1.0);
    let screen_a = a.xy / a.w * u.viewport_px;
    let screen_b = b.xy / b.w * u.viewport_px;
    var dir = screen_b - screen_a;
    if (length(dir) < 1e-6) {
        dir = vec2<f32>(1.0, 0.0);
    }
    dir = normalize(dir);
    let normal = vec2<f32>(-dir.y, dir.x);
    var p = a;
    if (t > 0.5) {
        p = b;
    }
    // Clip space spans 2 units over viewport_px pixels.
    let offset = normal * side[vertex_idx] * u.half_width_px * 2.0 / u.viewport_px * p.w;
    var out: VsOut;
    out.position = vec4<f32>(p.xy + offset, p.z, p.w);
    var color = mix(s.start_color, s.end_color, t);
    if (u.srgb_target > 0.5) {
        color = srgb_to_linear(color);
    }
    out.color = color;
    return out;
}

@fragment
fn fs_main(v: VsOut) -> @location(0) vec4<f32> {
    return vec4<f32>(v.color, 1.0);
}
