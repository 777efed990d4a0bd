#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// LinearRMSNorm on CPU devices (linear_gemv_f16t with the block's pre-norm folded in): per row m,
//   v = res[m, :] (+ add[m, :] if has_add);   x = v / sqrt(mean(v²) + eps) * nw;
//   out[m, n] = sum_k x[k] * w[n, k] + bias[n];   resout[m, :] = v (if has_add)
// res, add [M, K] and nw [K] float32, read through texel buffers (4 floats per texel) from element
// 0; w [N, K] float16 (texel buffer from element wb, wb % 8 == 0); out [M, N] float32 from ob, rows
// ldo apart, columns n0 .. n0+N-1. Every workgroup computes the mean squares of its MR rows (one
// pass over K), then runs gemv_f16t.glsl's loop on x made on the fly (x in shared memory measured
// slower on lavapipe); the workgroups of the first column block write resout, which must not be
// res (the other workgroups are still reading it).
#include "grid.glsl"
layout(local_size_x_id = 0) in; // the subgroup size
layout(constant_id = 1) const int MR = 1;
layout(constant_id = 2) const bool VEC = true; // unused (linear_gemv's constant ids)
layout(constant_id = 3) const int NR = 1;
layout(constant_id = 4) const int TPL = 1; // consecutive texels of a row per lane and step
layout(binding = 0) uniform usamplerBuffer rest;
layout(binding = 1) uniform usamplerBuffer w8t;
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(binding = 4) uniform usamplerBuffer addt;
layout(binding = 5) uniform usamplerBuffer nwt;
layout(std430, binding = 6) writeonly buffer RO { vec4 ro4[]; };
layout(push_constant) uniform P { uint M, N, K, has_bias, xb, wb, ob, ldo, n0; float eps; uint has_add; } p;

uint xr[MR];   // first texel of each row of the block
float inv[MR]; // 1 / sqrt(mean(v²) + eps) of each row

vec4 ld(usamplerBuffer t, uint i) { return uintBitsToFloat(texelFetch(t, int(i))); }

vec4 vval(int r, uint t) {
    vec4 v = ld(rest, xr[r] + t);
    if (p.has_add != 0u) v += ld(addt, xr[r] + t);
    return v;
}

vec4 xval(int r, uint t) { return vval(r, t) * inv[r] * ld(nwt, t); }

#include "gemv_f16t.glsl"

void main() {
    uint n0 = gl_WorkGroupID.x * NR, m0 = gl_WorkGroupID.y * MR;
    uint L = gl_WorkGroupSize.x, lane = gl_LocalInvocationID.x, K4 = p.K / 4;
    [[unroll]] for (int r = 0; r < MR; r++) xr[r] = min(m0 + r, p.M - 1) * K4;
    [[unroll]] for (int r = 0; r < MR; r++) {
        vec4 s = vec4(0.0);
        for (uint t = lane; t < K4; t += L) {
            vec4 v = vval(r, t);
            s += v * v;
        }
        inv[r] = inversesqrt(subgroupAdd(s.x + s.y + s.z + s.w) / float(p.K) + p.eps);
    }
    if (gl_WorkGroupID.x == 0u && p.has_add != 0u) {
        [[unroll]] for (int r = 0; r < MR; r++) {
            if (m0 + r >= p.M) continue;
            for (uint t = lane; t < K4; t += L) ro4[xr[r] + t] = vval(r, t);
        }
    }
    gemv_f16t(n0, m0);
}
