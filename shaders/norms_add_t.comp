#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
// AddRMSNorm (norms_add.comp) for CPU devices, C a multiple of 4: one workgroup = one subgroup per
// row, res, x and w read through texel buffers (gpu.Texel, 4 floats per texel; lavapipe gathers
// them where storage-buffer loads are loops over the lanes), the row sum taken with subgroupAdd:
//   v = res[r, :] (+ x[r, :] if has_x);   out[r, :] = v / sqrt(mean(v²) + eps) * w;   res[r, :] = v
// res is read through texel binding 0 and written through binding 4 (the same memory): the first
// pass only reads, and the second pass reads each vec4 of the lane's own before writing it, so no
// element is read after it is written.
#include "grid.glsl"
layout(local_size_x_id = 0) in; // the subgroup size
layout(binding = 0) uniform usamplerBuffer rt;
layout(binding = 1) uniform usamplerBuffer xt;
layout(binding = 2) uniform usamplerBuffer wt;
layout(std430, binding = 3) writeonly buffer O { vec4 o4[]; };
layout(std430, binding = 4) writeonly buffer Res { vec4 r4[]; };
layout(push_constant) uniform P { uint R, C; float eps; uint has_x; } p;

vec4 ld(usamplerBuffer t, uint i) { return uintBitsToFloat(texelFetch(t, int(i))); }

void main() {
    uint r = linear_group();
    if (r >= p.R) return;
    uint t = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x, C4 = p.C / 4, base = r * C4;
    bool hx = p.has_x != 0u;
    vec4 acc = vec4(0.0);
    for (uint c = t; c < C4; c += L) {
        vec4 v = ld(rt, base + c);
        if (hx) v += ld(xt, base + c);
        acc += v * v;
    }
    float inv = inversesqrt(subgroupAdd(acc.x + acc.y + acc.z + acc.w) / float(p.C) + p.eps);
    for (uint c = t; c < C4; c += L) {
        vec4 v = ld(rt, base + c);
        if (hx) {
            v += ld(xt, base + c);
            r4[base + c] = v;
        }
        o4[base + c] = v * inv * ld(wt, c);
    }
}
