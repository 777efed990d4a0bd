#version 450
// Linear's epilogue after a GEMM into a block of columns: out[m, n0 + j] = t[m, j] + bias[n0 + j]
// (bias when has_bias) for t [M, NB] and out rows of ldo float32s. One element per invocation.
// t may be out itself (NB = ldo, n0 = 0: the bias added in place).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer T { float tmp[]; };
layout(std430, binding = 1) readonly buffer Bi { float bias[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint M, NB, ldo, n0, has_bias; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.M * p.NB) return;
    uint m = i / p.NB, j = i % p.NB;
    o[m * p.ldo + p.n0 + j] = tmp[i] + (p.has_bias != 0 ? bias[p.n0 + j] : 0.0);
}
