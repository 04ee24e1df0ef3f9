// Shaded triangles (plot::mesh3d): per-vertex Lambert lighting from a fixed key light above and
// a weaker fill light opposite, plus ambient, so solids read as round without shadows.

struct Uniforms {
    clip_from_world: mat4x4<f32>,
    viewport_px: vec2<f32>,
    half_width_px: f32,
    // 1.0 when the target is an sRGB format: colours (given in sRGB) are linearised first.
    srgb_target: f32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;

struct VertexIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec3<f32>,
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
fn vs_main(v: VertexIn) -> VsOut {
    let key = normalize(vec3<f32>(0.35, 0.85, 0.4));
    let fill = normalize(vec3<f32>(-0.5, 0.3, -0.6));
    let n = normalize(v.normal);
    let light = 0.35 + 0.6 * max(dot(n, key), 0.0) + 0.2 * max(dot(n, fill), 0.0);
    var color = v.color;
    if (u.srgb_target > 0.5) {
        color = srgb_to_linear(color);
    }
    var out: VsOut;
    out.position = u.clip_from_world * vec4<f32>(v.position, 1.0);
    out.color = min(color * light, vec3<f32>(1.0));
    return out;
}

@fragment
fn fs_main(v: VsOut) -> @location(0) vec4<f32> {
    return vec4<f32>(v.color, 1.0);
}
