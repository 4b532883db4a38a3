// Matrix multiply family: out[b, m, n] = act(sum_k A[b, m, k] * B[b, k, n] + bias[n]).
// Entry points are variants of the same op; the launcher picks one per adapter and shape:
//   matmul_naive  any strides (transposed operands), one output per invocation;
//   matmul_reg    register-blocked 8x16 outputs per invocation, vec4 loads, no shared memory
//                 (fastest on CPU adapters such as lavapipe, where barriers are expensive);
//   matmul_tiled  64x64 shared-memory tiles, 4x4 outputs per invocation (fastest on real GPUs).

struct Params {
    m: u32, n: u32, k: u32, batch: u32,
    // element strides of A (row, col, batch) and B (row, col, batch)
    a_rs: u32, a_cs: u32, a_bs: u32, has_bias: u32,
    b_rs: u32, b_cs: u32, b_bs: u32, act: u32,
    alpha: f32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn activate(v: f32) -> f32 {
    switch p.act {
        case 1u: { return max(v, 0.0); }
        case 2u: { return 1.0 / (1.0 + exp(-v)); }
        case 3u: { return tanh(v); }
        default: { return v; }
    }
}

fn finish(col: u32, v: f32) -> f32 {
    var r = v * p.alpha;
    if p.has_bias != 0u { r = r + bias[col]; }
    return activate(r);
}

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
    return gid.x + gid.y * nwg.x * wg;
}

@compute @workgroup_size(64)
fn matmul_naive(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(gid, nwg, 64u);
    let total = p.m * p.n;
    let bi = gid.z;
    if id >= total || bi >= p.batch { return; }
    let row = id / p.n;
    let col = id % p.n;
    var acc = 0.0;
    var ia = bi * p.a_bs + row * p.a_rs;
    var ib = bi * p.b_bs + col * p.b_cs;
    for (var kk = 0u; kk < p.k; kk++) {
        acc = fma(a[ia], b[ib], acc);
        ia += p.a_cs;
        ib += p.b_rs;
    }
    out[bi * total + id] = finish(col, acc);
}

fn load4a(i: u32) -> vec4<f32> { return vec4(a[i], a[i + 1u], a[i + 2u], a[i + 3u]); }
fn load4b(i: u32) -> vec4<f32> { return vec4(b[i], b[i + 1u], b[i + 2u], b[i + 3u]); }

// Requires row-major contiguous A [m, k] and B [k, n] per batch, k % 4 == 0 and n % 4 == 0.
@compute @workgroup_size(64)
fn matmul_reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_id(gid, nwg, 64u);
    let ncb = (p.n + 15u) / 16u;
    let nrb = (p.m + 7u) / 8u;
    let bi = gid.z;
    if id >= ncb * nrb || bi >= p.batch { return; }
    let col0 = (id % ncb) * 16u;
    let row0 = (id / ncb) * 8u;
    // Column blocks past n are clamped to the last valid vec4 and not stored.
    var cols: array<u32, 4>;
    for (var j = 0u; j < 4u; j++) { cols[j] = min(col0 + 4u * j, p.n - 4u); }
    var rows: array<u32, 8>;
    for (var r = 0u; r < 8u; r++) { rows[r] = bi * p.a_bs + min(row0 + r, p.m - 1u) * p.k; }
    var acc: array<array<vec4<f32>, 4>, 8>;
    let bb = bi * p.b_bs;
    for (var kk = 0u; kk < p.k; kk += 4u) {
        var bv: array<array<vec4<f32>, 4>, 4>;
        for (var t = 0u; t < 4u; t++) {
            let brow = bb + (kk + t) * p.n;
            for (var j = 0u; j < 4u; j++) { bv[t][j] = load4b(brow + cols[j]); }
        }
        for (var r = 0u; r < 8u; r++) {
            let av = load4a(rows[r] + kk);
            for (var j = 0u; j < 4u; j++) {
                acc[r][j] = fma(vec4(av.x), bv[0][j], acc[r][j]);
                acc[r][j] = fma(vec4(av.y), bv[1][j], acc[r][j]);
                acc[r][j] = fma(vec4(av.z), bv[2][j], acc[r][j]);
                acc[r][j] = fma(vec4(av.w), bv[3][j], acc[r][j]);
            }
        }
    }
    let ob = bi * p.m * p.n;
    for (var r = 0u; r < 8u; r++) {
        let row = row0 + r;
        if row >= p.m { break; }
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + 4u * j;
            if c >= p.n { break; }
            let o = ob + row * p.n + c;
            for (var e = 0u; e < 4u; e++) { out[o + e] = finish(c + e, acc[r][j][e]); }
        }
    }
}

const TILE: u32 = 64u;
const TK: u32 = 16u;
var<workgroup> ta: array<f32, 1024>; // TK x TILE, A tile stored k-major
var<workgroup> tb: array<f32, 1024>; // TK x TILE

// Any strides; 16x16 invocations, each computing a 4x4 block of a 64x64 output tile.
@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let bi = wid.z;
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    let t = lid.y * 16u + lid.x;
    var acc: array<array<f32, 4>, 4>;
    let abase = bi * p.a_bs;
    let bbase = bi * p.b_bs;
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        for (var i = t; i < TK * TILE; i += 256u) {
            let kk = i / TILE;
            let mm = i % TILE;
            let gr = row0 + mm;
            let gk = k0 + kk;
            var va = 0.0;
            if gr < p.m && gk < p.k { va = a[abase + gr * p.a_rs + gk * p.a_cs]; }
            ta[i] = va;
            let gc = col0 + mm;
            var vb = 0.0;
            if gc < p.n && gk < p.k { vb = b[bbase + gk * p.b_rs + gc * p.b_cs]; }
            tb[i] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var i = 0u; i < 4u; i++) {
                av[i] = ta[kk * TILE + lid.y * 4u + i];
                bv[i] = tb[kk * TILE + lid.x * 4u + i];
            }
            for (var i = 0u; i < 4u; i++) {
                for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
            }
        }
        workgroupBarrier();
    }
    let ob = bi * p.m * p.n;
    for (var i = 0u; i < 4u; i++) {
        let row = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x * 4u + j;
            if row < p.m && col < p.n { out[ob + row * p.n + col] = finish(col, acc[i][j]); }
        }
    }
}
