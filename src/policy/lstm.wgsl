// One LSTM step for a batch of agents, gates fused with the cell update (PyTorch semantics,
// gate order i, f, g, o). CPU twin: `policy::cpu` (`step_block`); `policy::gpu` tests compare them.
//
//   z = x W_ihᵀ + h W_hhᵀ + (b_ih + b_hh)      (4H pre-activations per agent)
//   c ← σ(z_f) c + σ(z_i) tanh(z_g);   h ← σ(z_o) tanh(c)
//
// A workgroup of 16 x 16 threads takes 64 agents x 16 cells: its 64 "columns" are the four gates
// of those 16 cells, so each thread ends with i, f, g, o of one cell for 4 agents and updates
// them in place. The k loop walks the concatenated input [x | h_prev] through workgroup memory.
// h is double-buffered (h_prev read, h_next written) because other workgroups still read h_prev.

struct Dims {
    n_rows: u32,
    n_in: u32,
    n_hidden: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // (n_rows x n_in)
// W_ih (4H x n_in), then W_hh (4H x H), then b_ih + b_hh (4H).
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> h_prev: array<f32>;   // (n_rows x H)
@group(0) @binding(4) var<storage, read_write> h_next: array<f32>; // (n_rows x H)
@group(0) @binding(5) var<storage, read_write> c: array<f32>;  // (n_rows x H), updated in place
@group(0) @binding(6) var<storage, read_write> gates: array<f32>; // (n_rows x 4H), z

const TILE_ROWS: u32 = 64u;
const TILE_CELLS: u32 = 16u;
const TK: u32 = 16u;

// x_tile[k * 16 + ty][p] = [x | h_prev][row0 + ty + 16p][k0 + k];
// w_tile[k * 16 + tx][gate] = [W_ih | W_hh][gate * H + cell0 + tx][k0 + k].
var<workgroup> x_tile: array<vec4<f32>, 256>;
var<workgroup> w_tile: array<vec4<f32>, 256>;

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

// tanh saturates to ±1 in f32 beyond |v| ≈ 9; clamping avoids inf/inf in some implementations.
fn tanh_safe(v: f32) -> f32 {
    return tanh(clamp(v, -15.0, 15.0));
}

// z = (i, f, g, o) pre-activations of one cell of agent `row`: store them, update c and h.
fn cell_update(acc: vec4<f32>, row: u32, cell: u32, bias0: u32) {
    let n_hidden = dims.n_hidden;
    if (row >= dims.n_rows) {
        return;
    }
    let z = acc + vec4<f32>(
        params[bias0 + cell],
        params[bias0 + n_hidden + cell],
        params[bias0 + 2u * n_hidden + cell],
        params[bias0 + 3u * n_hidden + cell],
    );
    let z0 = row * 4u * n_hidden;
    gates[z0 + cell] = z.x;
    gates[z0 + n_hidden + cell] = z.y;
    gates[z0 + 2u * n_hidden + cell] = z.z;
    gates[z0 + 3u * n_hidden + cell] = z.w;
    let s = row * n_hidden + cell;
    let c_new = sigmoid(z.y) * c[s] + sigmoid(z.x) * tanh_safe(z.z);
    c[s] = c_new;
    h_next[s] = sigmoid(z.w) * tanh_safe(c_new);
}

@compute @workgroup_size(16, 16)
fn lstm_step(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) lidx: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let n_in = dims.n_in;
    let n_hidden = dims.n_hidden;
    let n_k = n_in + n_hidden;
    let row0 = wid.y * TILE_ROWS;
    let cell0 = wid.x * TILE_CELLS;
    let w_hh0 = 4u * n_hidden * n_in;
    let bias0 = w_hh0 + 4u * n_hidden * n_hidden;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < n_k; k0 += TK) {
        for (var l = 0u; l < 4u; l++) {
            let idx = lidx + 256u * l;
            let r = idx / TK;
            let kk = idx % TK;
            let k = k0 + kk;
            // Agent row0 + r.
            let row = row0 + r;
            var xv = 0.0;
            if (row < dims.n_rows) {
                if (k < n_in) {
                    xv = x[row * n_in + k];
                } else if (k < n_k) {
                    xv = h_prev[row * n_hidden + (k - n_in)];
                }
            }
            x_tile[kk * 16u + r % 16u][r / 16u] = xv;
            // Tile column r: gate r / 16 of cell cell0 + r % 16.
            let cell = cell0 + r % TILE_CELLS;
            let w_row = (r / TILE_CELLS) * n_hidden + cell;
            var wv = 0.0;
            if (cell < n_hidden) {
                if (k < n_in) {
                    wv = params[w_row * n_in + k];
                } else if (k < n_k) {
                    wv = params[w_hh0 + w_row * n_hidden + (k - n_in)];
                }
            }
            w_tile[kk * 16u + r % 16u][r / 16u] = wv;
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
    let cell = cell0 + lid.x;
    if (cell >= n_hidden) {
        return;
    }
    cell_update(acc0, row0 + lid.y, cell, bias0);
    cell_update(acc1, row0 + lid.y + 16u, cell, bias0);
    cell_update(acc2, row0 + lid.y + 32u, cell, bias0);
    cell_update(acc3, row0 + lid.y + 48u, cell, bias0);
}
