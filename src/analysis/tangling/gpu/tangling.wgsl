// Tangling max-ratio kernel: one invocation per point i computes
//   q[i] = max_j |dx_i - dx_j|^2 / (|x_i - x_j|^2 + eps)
// over all n_points rows of `states` and `derivatives` (row-major, n_dims columns).
// CPU twin: `StatesAndDerivatives::max_ratio` in tangling.rs.

struct Params {
    n_points: u32,
    n_dims: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> states: array<f32>;
@group(0) @binding(2) var<storage, read> derivatives: array<f32>;
@group(0) @binding(3) var<storage, read_write> q: array<f32>;

@compute @workgroup_size(64)
fn max_ratio(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let n = params.n_points;
    let d = params.n_dims;
    if (i >= n) {
        return;
    }
    var best = 0.0;
    for (var j = 0u; j < n; j++) {
        var num = 0.0;
        var den = 0.0;
        for (var k = 0u; k < d; k++) {
            let dd = derivatives[i * d + k] - derivatives[j * d + k];
            let dx = states[i * d + k] - states[j * d + k];
            num += dd * dd;
            den += dx * dx;
        }
        best = max(best, num / (den + params.eps));
    }
    q[i] = best;
}
