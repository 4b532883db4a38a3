// What one memory access of each kind costs on this adapter (crates/device/src/probe.rs,
// `tessera bench loads`). Every invocation makes STEPS accesses at lane-varying addresses
// (`at`) and adds up what it read, so no access can be dropped, then writes its sum to
// outv[g], which probe.rs checks against the same sums on the host.
struct Table {
    v: array<vec4<u32>, 4096>,
}

@group(0) @binding(0) var<storage, read_write> outv: array<f32>;
@group(0) @binding(1) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read> data4: array<vec4<f32>>;
@group(0) @binding(1) var<uniform> table: Table;
@group(0) @binding(1) var tex: texture_2d<f32>;

const STEPS: u32 = 256u;
const INVOCATIONS: u32 = 8192u;
var<workgroup> shared_data: array<f32, 1024>;

// The element that access `i` of invocation `g` reads, among `n` (a power of two).
fn at(g: u32, i: u32, n: u32) -> u32 {
    return (g * 5u + i * 67u) & (n - 1u);
}

@compute @workgroup_size(64)
fn storage_f32(@builtin(global_invocation_id) g: vec3<u32>) {
    var acc = 0.0;
    for (var i = 0u; i < STEPS; i++) {
        acc += data[at(g.x, i, 65536u)];
    }
    outv[g.x] = acc;
}

@compute @workgroup_size(64)
fn storage_vec4(@builtin(global_invocation_id) g: vec3<u32>) {
    var acc = vec4(0.0);
    for (var i = 0u; i < STEPS; i++) {
        acc += data4[at(g.x, i, 16384u)];
    }
    outv[g.x] = acc.x + acc.y + acc.z + acc.w;
}

@compute @workgroup_size(64)
fn texel_vec4(@builtin(global_invocation_id) g: vec3<u32>) {
    var acc = vec4(0.0);
    for (var i = 0u; i < STEPS; i++) {
        let t = at(g.x, i, 16384u);
        acc += textureLoad(tex, vec2(t & 1023u, t >> 10u), 0);
    }
    outv[g.x] = acc.x + acc.y + acc.z + acc.w;
}

// The storage_f32 and texel_vec4 probes with one address for the whole workgroup (a
// kernel's weights): whether the adapter loads it once for all lanes.
@compute @workgroup_size(64)
fn storage_f32_same(@builtin(workgroup_id) w: vec3<u32>, @builtin(global_invocation_id) g: vec3<u32>) {
    var acc = 0.0;
    for (var i = 0u; i < STEPS; i++) {
        acc += data[at(w.x, i, 65536u)];
    }
    outv[g.x] = acc;
}

@compute @workgroup_size(64)
fn texel_vec4_same(@builtin(workgroup_id) w: vec3<u32>, @builtin(global_invocation_id) g: vec3<u32>) {
    var acc = vec4(0.0);
    for (var i = 0u; i < STEPS; i++) {
        let t = at(w.x, i, 16384u);
        acc += textureLoad(tex, vec2(t & 1023u, t >> 10u), 0);
    }
    outv[g.x] = acc.x + acc.y + acc.z + acc.w;
}

@compute @workgroup_size(64)
fn uniform_f32(@builtin(global_invocation_id) g: vec3<u32>) {
    var acc = 0.0;
    for (var i = 0u; i < STEPS; i++) {
        let k = at(g.x, i, 16384u);
        acc += f32(table.v[k >> 2u][k & 3u]);
    }
    outv[g.x] = acc;
}

@compute @workgroup_size(64)
fn uniform_vec4(@builtin(global_invocation_id) g: vec3<u32>) {
    var acc = vec4(0u);
    for (var i = 0u; i < STEPS; i++) {
        acc += table.v[at(g.x, i, 4096u)];
    }
    outv[g.x] = f32(acc.x + acc.y + acc.z + acc.w);
}

// Each invocation first stores 16 values (a sixteenth of its accesses).
@compute @workgroup_size(64)
fn workgroup_f32(@builtin(global_invocation_id) g: vec3<u32>, @builtin(local_invocation_index) l: u32) {
    for (var k = 0u; k < 16u; k++) {
        shared_data[l * 16u + k] = f32((l * 16u + k) % 7u);
    }
    workgroupBarrier();
    var acc = 0.0;
    for (var i = 0u; i < STEPS; i++) {
        acc += shared_data[at(g.x, i, 1024u)];
    }
    outv[g.x] = acc;
}

// Stores past the sums, then the sum of the steps' values.
@compute @workgroup_size(64)
fn store_f32(@builtin(global_invocation_id) g: vec3<u32>) {
    var acc = 0.0;
    for (var i = 0u; i < STEPS; i++) {
        let v = f32(i % 7u);
        outv[INVOCATIONS + at(g.x, i, 65536u)] = v;
        acc += v;
    }
    outv[g.x] = acc;
}

// No memory access: a multiply-add a step (the loop's own cost).
@compute @workgroup_size(64)
fn alu_f32(@builtin(global_invocation_id) g: vec3<u32>) {
    var acc = f32(g.x % 7u);
    for (var i = 0u; i < STEPS; i++) {
        acc = fma(acc, 0.5, f32(i & 3u));
    }
    outv[g.x] = acc;
}
