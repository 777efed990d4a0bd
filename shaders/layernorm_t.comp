#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
// LayerNorm (layernorm.comp's sums and rounding care) for CPU devices, C a multiple of 4: one
// workgroup = one subgroup per row, x, w and b read through texel buffers (gpu.Texel, 4 floats per
// texel; lavapipe gathers them where storage-buffer loads are loops over the lanes) and the row
// sums taken with subgroupAdd instead of shared memory and barriers. out may be x: every lane has
// read its values in the first two passes before any lane writes (the sums join all lanes).
#include "grid.glsl"
layout(local_size_x_id = 0) in; // the subgroup size
layout(binding = 0) uniform usamplerBuffer xt;
layout(binding = 1) uniform usamplerBuffer wt;
layout(binding = 2) uniform usamplerBuffer bt;
layout(std430, binding = 3) writeonly buffer O { vec4 o4[]; };
layout(push_constant) uniform P { uint R; uint C; float eps; uint affine; } p;

vec4 ld(usamplerBuffer t, uint i) { return uintBitsToFloat(texelFetch(t, int(i))); }

void main() {
    uint r = linear_group();
    if (r >= p.R) return;
    uint t = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x, C4 = p.C / 4, base = r * C4;
    float x0 = ld(xt, base).x;
    vec4 acc = vec4(0.0);
    for (uint c = t; c < C4; c += L) acc += ld(xt, base + c) - x0;
    float m = subgroupAdd(acc.x + acc.y + acc.z + acc.w) / float(p.C); // mean − x0
    acc = vec4(0.0);
    for (uint c = t; c < C4; c += L) {
        vec4 d = (ld(xt, base + c) - x0) - m;
        acc += d * d;
    }
    float inv = inversesqrt(subgroupAdd(acc.x + acc.y + acc.z + acc.w) / float(p.C) + p.eps);
    for (uint c = t; c < C4; c += L) {
        vec4 v = ((ld(xt, base + c) - x0) - m) * inv;
        if (p.affine != 0) v = v * ld(wt, c) + ld(bt, c);
        o4[base + c] = v;
    }
}
