// Dense layers of the policy on the GPU: observation normalisation and y = act(x Wᵀ + b) as a
// tiled matrix product. CPU twin: `policy::cpu` (`step_block`); `policy::gpu` tests compare them.
//
// Layouts are row-major: x (n_rows x n_in), W (n_out x n_in) as PyTorch stores it, y (n_rows x n_out).
// A workgroup of 16 x 16 threads computes a 64 x 64 tile of y (4 rows x 4 adjacent columns per
// thread), walking
// n_in in steps of 16 through workgroup memory.

struct Dims {
    n_rows: u32,
    n_in: u32,
    n_out: u32,
    // 0: identity, 1: ELU (α = 1)
    activation: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;

// x_tile[k * 16 + ty][p] = x[row0 + ty + 16p][k0 + k]; w_tile[k * 16 + tx][q] = W[col0 + 4tx + q][k0 + k].
// vec4 tiles and accumulators keep every index static (no per-lane arrays), which matters on
// CPU-emulated devices (lavapipe) as much as on GPUs.
var<workgroup> x_tile: array<vec4<f32>, 256>;
var<workgroup> w_tile: array<vec4<f32>, 256>;

fn elu(v: f32) -> f32 {
    if (v > 0.0) {
        return v;
    }
    return exp(v) - 1.0;
}

fn finish(acc: vec4<f32>, row: u32, col0: u32) {
    if (row >= dims.n_rows) {
        return;
    }
    for (var q = 0u; q < 4u; q++) {
        let col = col0 + q;
        if (col < dims.n_out) {
            var v = acc[q] + bias[col];
            if (dims.activation == 1u) {
                v = elu(v);
            }
            y[row * dims.n_out + col] = v;
        }
    }
}

@compute @workgroup_size(16, 16)
fn dense(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lidx: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < dims.n_in; k0 += TK) {
        for (var l = 0u; l < 4u; l++) {
            let idx = lidx + 256u * l;
            let r = idx / TK;
            let kk = idx % TK;
            let k = k0 + kk;
            var xv = 0.0;
            if (row0 + r < dims.n_rows && k < dims.n_in) {
                xv = x[(row0 + r) * dims.n_in + k];
            }
            x_tile[kk * 16u + r % 16u][r / 16u] = xv;
            var wv = 0.0;
            if (col0 + r < dims.n_out && k < dims.n_in) {
                wv = weight[(col0 + r) * dims.n_in + k];
            }
            w_tile[kk * 16u + r / 4u][r % 4u] = wv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let xv = x_tile[kk * 16u + lid.y];
            let wv = w_tile[kk * 16u + lid.x];
            acc0 = fma(vec4<f32>(xv.x), wv, acc0);
            acc1 = fma(vec4<f32>(xv.y), wv, acc1);
            acc2 = fma(vec4<f32>(xv.z), wv, acc2);
            acc3 = fma(vec4<f32>(xv.w), wv, acc3);
        }
        workgroupBarrier();
    }
    let col = col0 + 4u * lid.x;
    finish(acc0, row0 + lid.y, col);
    finish(acc1, row0 + lid.y + 16u, col);
    finish(acc2, row0 + lid.y + 32u, col);
    finish(acc3, row0 + lid.y + 48u, col);
}

// Observation normalisation, clamp((o − mean) / std, −5, 5) with std = sqrt(var + 1e-5)
// precomputed: one thread per value. `weight` holds mean (n_in) then std (n_in); y is
// (n_rows x n_in). n_out and bias are unused.
@compute @workgroup_size(256)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= dims.n_rows * dims.n_in) {
        return;
    }
    let j = i % dims.n_in;
    y[i] = clamp((x[i] - weight[j]) / weight[dims.n_in + j], -5.0, 5.0);
}
