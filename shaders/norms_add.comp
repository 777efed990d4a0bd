#version 450
// RMSNorm fused with the residual add, one workgroup of LOCAL invocations per row of [R, C]:
//   if has_x: res[r, c] += x[r, c]   (res updated in place)
//   out[r, c] = res[r, c] / sqrt(mean_c res[r, .]^2 + eps) * w[c]
// All float32. out must not be res.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer Res { float res[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint R, C; float eps; uint has_x; } p;
shared float partial[gl_WorkGroupSize.x];

void main() {
    uint r = linear_group();
    if (r >= p.R) return; // uniform per workgroup: safe before the barriers
    uint t = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x, base = r * p.C;
    float acc = 0.0;
    for (uint c = t; c < p.C; c += L) {
        float v = res[base + c];
        if (p.has_x != 0) {
            v += x[base + c];
            res[base + c] = v;
        }
        acc += v * v;
    }
    partial[t] = acc;
    barrier();
    for (uint s = L / 2; s > 0; s >>= 1) {
        if (t < s) partial[t] += partial[t + s];
        barrier();
    }
    float inv = inversesqrt(partial[0] / float(p.C) + p.eps);
    // Each invocation reads back only the elements it wrote itself.
    for (uint c = t; c < p.C; c += L) o[base + c] = res[base + c] * inv * w[c];
}
