#version 450
#extension GL_EXT_control_flow_attributes : require
// Row reductions over x [R, C] float32, one workgroup of LOCAL invocations per row.
// OP 0: out[r] = sum_c x[r,c]                               (out [R])
// OP 1: out[r,c] = x[r,c] / sqrt(mean_c x^2 + eps) * w[c]     (RMSNorm; w used when p.has_w != 0)
// OP 2: out[r,c] = x[r,c] / sqrt(sum_c x^2 + eps)            (L2 normalisation)
// out may be x (in place).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int OP = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint R; uint C; float eps; uint has_w; } p;
shared float partial[gl_WorkGroupSize.x];

void main() {
    uint r = linear_group();
    if (r >= p.R) return; // uniform per workgroup: safe before the barriers
    uint t = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x, base = r * p.C;
    float acc = 0.0;
    for (uint c = t; c < p.C; c += L) {
        float v = x[base + c];
        acc += OP == 0 ? v : v * v;
    }
    partial[t] = acc;
    barrier();
    for (uint s = L / 2; s > 0; s >>= 1) {
        if (t < s) partial[t] += partial[t + s];
        barrier();
    }
    float total = partial[0];
    if (OP == 0) {
        if (t == 0) o[r] = total;
        return;
    }
    float denom = OP == 1 ? total / float(p.C) : total;
    float inv = inversesqrt(denom + p.eps);
    for (uint c = t; c < p.C; c += L) {
        float v = x[base + c] * inv;
        if (OP == 1 && p.has_w != 0) v *= w[c];
        o[base + c] = v;
    }
}
