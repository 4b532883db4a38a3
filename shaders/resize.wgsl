// Resize family: Keras UpSampling2D(size, interpolation='nearest') on NHWC input,
// out[b, y, x, c] = in[b, y / sh, x / sw, c].
//   upsample_nearest   one output per invocation (any channel count);
//   upsample_nearest4  four channels per invocation with vec4 copies (c % 4 == 0).

struct Params {
    n: u32, h: u32, w: u32, c: u32,
    oh: u32, ow: u32, sh: u32, sw: u32,
    total: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Vec4 views of the same bindings, used by upsample_nearest4.
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4<f32>>;

// Source pixel (row-major index over [n, h, w]) of output pixel `pix`.
fn source(pix: u32) -> u32 {
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    return (b * p.h + oy / p.sh) * p.w + ox / p.sw;
}

@compute @workgroup_size(64)
fn upsample_nearest(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    out[id] = x[source(id / p.c) * p.c + id % p.c];
}

@compute @workgroup_size(64)
fn upsample_nearest4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    out4[id] = x4[source(id / c4) * c4 + id % c4];
}

// Backward of nearest upsampling (a gather, no atomics): with n, h, w, c the forward input and
// `x` holding dy of shape [n, oh, ow, c], dx[b, y, x, c] = Σ_{i<sh, j<sw} dy[b, y·sh+i, x·sw+j, c].
//   upsample_nearest_grad   one input element per invocation;
//   upsample_nearest_grad4  four channels per invocation (c % 4 == 0).

// First dy pixel (row-major over [n, oh, ow]) of the block that input pixel `pix` fills.
fn block(pix: u32) -> u32 {
    let xx = pix % p.w;
    let t = pix / p.w;
    let y = t % p.h;
    let b = t / p.h;
    return (b * p.oh + y * p.sh) * p.ow + xx * p.sw;
}

@compute @workgroup_size(64)
fn upsample_nearest_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let ch = id % p.c;
    let first = block(id / p.c);
    var acc = 0.0;
    for (var i = 0u; i < p.sh; i++) {
        for (var j = 0u; j < p.sw; j++) {
            acc += x[(first + i * p.ow + j) * p.c + ch];
        }
    }
    out[id] = acc;
}

@compute @workgroup_size(64)
fn upsample_nearest_grad4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = gid.x + gid.y * nwg.x * 64u;
    if id >= p.total { return; }
    let c4 = p.c / 4u;
    let ch = id % c4;
    let first = block(id / c4);
    var acc = vec4(0.0);
    for (var i = 0u; i < p.sh; i++) {
        for (var j = 0u; j < p.sw; j++) {
            acc += x4[(first + i * p.ow + j) * c4 + ch];
        }
    }
    out4[id] = acc;
}
