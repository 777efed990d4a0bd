#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// Linear for few rows (decode) on CPU devices, float16 weight: out[m, n] = sum_k x[m, k] * w[n, k]
// + bias[n], x [M, K] and out [M, N] float32, w [N, K] float16. x and w are bound as texel buffers
// (gpu.Texel, RGBA32UI: 4 floats of x, 8 halves of w per texel): on lavapipe a texel fetch is a
// gather, where a storage-buffer load is a loop over the lanes. A workgroup is one subgroup; it
// owns NR weight rows for MR rows of x and splits K across its lanes, lane l reading texels l,
// l + L, ... of each row, so that the lanes read each weight row contiguously (NR streams per
// workgroup); the lanes' partial sums meet in subgroupAdd. Requires K % 8 == 0, xb % 4 == 0 and
// wb % 8 == 0 (elements); the bindings start at elements xb and wb, out at ob, out rows ldo apart,
// columns n0 .. n0+N-1 of out (bias indexed n0 + n).
#include "grid.glsl"
layout(local_size_x_id = 0) in; // the subgroup size
layout(constant_id = 1) const int MR = 1;
layout(constant_id = 2) const bool VEC = true; // unused (linear_gemv's constant ids)
layout(constant_id = 3) const int NR = 1;
layout(constant_id = 4) const int TPL = 1; // consecutive texels of a row per lane and step
layout(binding = 0) uniform usamplerBuffer x4t;
layout(binding = 1) uniform usamplerBuffer w8t;
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint M, N, K, has_bias, xb, wb, ob, ldo, n0; } p;

void main() {
    uint L = gl_WorkGroupSize.x, lane = gl_LocalInvocationID.x;
    uint n0 = gl_WorkGroupID.x * NR, m0 = gl_WorkGroupID.y * MR;
    uint K8 = p.K / 8, xb = p.xb / 4, wb = p.wb / 8;
    uint wr[NR], xr[MR];
    [[unroll]] for (int j = 0; j < NR; j++) wr[j] = wb + min(n0 + j, p.N - 1) * K8;
    [[unroll]] for (int r = 0; r < MR; r++) xr[r] = xb + min(m0 + r, p.M - 1) * (p.K / 4);
    float acc[MR][NR];
    [[unroll]] for (int r = 0; r < MR; r++)
        [[unroll]] for (int j = 0; j < NR; j++) acc[r][j] = 0.0;
    for (uint k0 = lane * TPL; k0 < K8; k0 += L * TPL) {
        [[unroll]] for (int u = 0; u < TPL; u++) {
            uint k = k0 + u;
            if (TPL > 1 && k >= K8) break;
            vec4 xa[MR], xc[MR];
            [[unroll]] for (int r = 0; r < MR; r++) {
                xa[r] = uintBitsToFloat(texelFetch(x4t, int(xr[r] + 2 * k)));
                xc[r] = uintBitsToFloat(texelFetch(x4t, int(xr[r] + 2 * k + 1)));
            }
            [[unroll]] for (int j = 0; j < NR; j++) {
                uvec4 q = texelFetch(w8t, int(wr[j] + k));
                vec4 w0 = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
                vec4 w1 = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
                [[unroll]] for (int r = 0; r < MR; r++) acc[r][j] += dot(xa[r], w0) + dot(xc[r], w1);
            }
        }
    }
    [[unroll]] for (int r = 0; r < MR; r++)
        [[unroll]] for (int j = 0; j < NR; j++) acc[r][j] = subgroupAdd(acc[r][j]);
    // Lane j % L writes column j of each row.
    [[unroll]] for (int j = 0; j < NR; j++) {
        uint n = n0 + j;
        if (uint(j) % L != lane || n >= p.N) continue;
        float b = p.has_bias != 0 ? bias[p.n0 + n] : 0.0;
        [[unroll]] for (int r = 0; r < MR; r++)
            if (m0 + r < p.M) o[p.ob + (m0 + r) * p.ldo + p.n0 + n] = acc[r][j] + b;
    }
}
