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
// CONVW > 0 adds a causal conv1d decode step (conv1d_step_t's, with SiLU) on columns n < convD of
// out, from the lane that stores each of them: xc[m, n] = silu(cb[n] + sum_{k<W-1} cw[n, k]·st[m, n, k]
// + cw[n, W-1]·out[m, n]), then st[m, n, :] = (st[m, n, 1:], out[m, n]); st [M, convD, W-1], cw
// [convD, W], cb [convD] (if conv_bias), xc [M, convD], float32 (Mamba's in_proj and conv1d).
#include "grid.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in; // the subgroup size
layout(constant_id = 1) const int MR = 1;
layout(constant_id = 2) const bool VEC = true; // unused (linear_gemv's constant ids)
layout(constant_id = 3) const int NR = 1;
layout(constant_id = 4) const int TPL = 1; // consecutive texels of a row per lane and step
layout(constant_id = 5) const int CONVW = 0; // the conv step's taps (2..8), 0 for none
layout(binding = 0) uniform usamplerBuffer rest;
layout(binding = 1) uniform usamplerBuffer w8t;
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(binding = 4) uniform usamplerBuffer addt;
layout(binding = 5) uniform usamplerBuffer nwt;
layout(std430, binding = 6) writeonly buffer RO { vec4 ro4[]; };
layout(std430, binding = 7) readonly buffer CW { float cw[]; };
layout(std430, binding = 8) readonly buffer CB { float cb[]; };
layout(std430, binding = 9) buffer ST { float st[]; };
layout(std430, binding = 10) writeonly buffer XC { float xc[]; };
layout(push_constant) uniform P { uint M, N, K, has_bias, xb, wb, ob, ldo, n0; float eps; uint has_add, convD, conv_bias; } p;

#define GEMV_KEEP 1
float kept[MR][NR];

// convStep runs the conv step on the workgroup's columns n0 .. n0+NR-1 below convD, lane l taking
// columns l, l + L, ... (all lanes at once: lavapipe runs a masked one-lane store as a loop).
void convStep(uint n0, uint m0) {
    const int S = CONVW > 1 ? CONVW - 1 : 1;
    uint L = gl_WorkGroupSize.x, lane = gl_LocalInvocationID.x;
    for (uint jb = 0; jb < uint(NR); jb += L) {
        uint j = jb + lane, n = n0 + j;
        [[unroll]] for (int r = 0; r < MR; r++) {
            float v = 0.0;
            [[unroll]] for (int q = 0; q < NR; q++) if (uint(q) == j) v = kept[r][q];
            uint m = m0 + uint(r);
            if (j >= uint(NR) || n >= p.convD || m >= p.M) continue;
            uint sb = (m * p.convD + n) * uint(S), wb = n * uint(CONVW);
            float win[S];
            [[unroll]] for (int k = 0; k < S; k++) win[k] = st[sb + uint(k)];
            float a = p.conv_bias != 0u ? cb[n] : 0.0;
            [[unroll]] for (int k = 0; k < S; k++) a += cw[wb + uint(k)] * win[k];
            a += cw[wb + uint(S)] * v;
            xc[m * p.convD + n] = silu(a);
            [[unroll]] for (int k = 0; k < S; k++) st[sb + uint(k)] = k + 1 < S ? win[k + 1] : v;
        }
    }
}

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
    if (CONVW > 0 && n0 < p.convD) convStep(n0, m0);
}
