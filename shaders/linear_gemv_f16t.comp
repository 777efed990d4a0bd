#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_arithmetic : require
// Linear for few rows (decode) on CPU devices, float16 weight: out[m, n] = sum_k x[m, k] * w[n, k]
// + bias[n], x [M, K] and out [M, N] float32, w [N, K] float16. x and w are bound as texel buffers
// (gpu.Texel, RGBA32UI: 4 floats of x, 8 halves of w per texel): on lavapipe a texel fetch is a
// gather, where a storage-buffer load is a loop over the lanes. The loop is gemv_f16t.glsl's.
// Requires K % 8 == 0, xb % 4 == 0 and wb % 8 == 0 (elements); the bindings start at elements xb
// and wb, out at ob, out rows ldo apart, columns n0 .. n0+N-1 of out (bias indexed n0 + n).
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

uint xr[MR]; // first texel of each row of the block

vec4 xval(int r, uint t) { return uintBitsToFloat(texelFetch(x4t, int(xr[r] + t))); }

#include "gemv_f16t.glsl"

void main() {
    uint n0 = gl_WorkGroupID.x * NR, m0 = gl_WorkGroupID.y * MR;
    [[unroll]] for (int r = 0; r < MR; r++) xr[r] = p.xb / 4 + min(m0 + r, p.M - 1) * (p.K / 4);
    gemv_f16t(n0, m0);
}
