// Pad family: zero padding and cropping of the spatial axes of NHWC tensors, one kernel for
// both. Output pixel (b, y, x) reads input pixel (b, y + crop_top − pad_top,
// x + crop_left − pad_left), or 0 outside the input: padding has crop = 0, cropping pad = 0,
// and each is the other's gradient.

struct Params {
    h: u32, w: u32, c: u32, oh: u32,
    ow: u32, pad_top: u32, pad_left: u32, crop_top: u32,
    crop_left: u32, total: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn pad_crop2d(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let id = linear_index(gid, nwg, 64u);
    if id >= p.total { return; }
    let ch = id % p.c;
    let pix = id / p.c;
    let ox = pix % p.ow;
    let t = pix / p.ow;
    let oy = t % p.oh;
    let b = t / p.oh;
    let sy = i32(oy + p.crop_top) - i32(p.pad_top);
    let sx = i32(ox + p.crop_left) - i32(p.pad_left);
    if sy < 0 || sy >= i32(p.h) || sx < 0 || sx >= i32(p.w) {
        out[id] = 0.0;
        return;
    }
    out[id] = x[((b * p.h + u32(sy)) * p.w + u32(sx)) * p.c + ch];
}
