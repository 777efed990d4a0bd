#version 450
// Per-column epilogues over x [R, C] float32 (the output of a GEMM), one invocation per element:
// MODE 0: out = x + bias[c]; MODE 1: out = gelu(x + bias[c]) (exact erf GELU);
// MODE 2: out = res + gamma[c] · (x + bias[c]) (layer scale and residual).
// bias is used when p.has_bias != 0, gamma when p.has_gamma != 0. out may be x or res.
#include "grid.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int MODE = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Bi { float bias[]; };
layout(std430, binding = 2) readonly buffer G { float gamma[]; };
layout(std430, binding = 3) readonly buffer Res { float res[]; };
layout(std430, binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint n; uint C; uint has_bias; uint has_gamma; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    uint c = i % p.C;
    float v = x[i];
    if (p.has_bias != 0) v += bias[c];
    if (MODE == 1) v = gelu(v);
    if (MODE == 2) v = res[i] + (p.has_gamma != 0 ? gamma[c] * v : v);
    o[i] = v;
}
