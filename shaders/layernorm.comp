#version 450
// LayerNorm over the last dimension of x [R, C] float32, one workgroup of LOCAL invocations per
// row: out[r,c] = (x[r,c] − mean_r) / sqrt(var_r + eps) · w[c] + b[c], var the biased variance
// computed in a second pass over the centred values (no E[x²] − E[x]² cancellation). Sums run
// over x − x0, x0 the row's first element, and the mean stays split as x0 + m: a row far from 0
// (x = 1000 + noise) then loses nothing to the float32 rounding of its sums or of its mean. w and b
// are used when p.affine != 0. out may be x (in place).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint R; uint C; float eps; uint affine; } p;
shared float partial[gl_WorkGroupSize.x];

float rowSum(float acc) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = acc;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s) partial[t] += partial[t + s];
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}

void main() {
    uint r = linear_group();
    if (r >= p.R) return; // uniform per workgroup: safe before the barriers
    uint t = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x, base = r * p.C;
    float x0 = x[base], acc = 0.0;
    for (uint c = t; c < p.C; c += L) acc += x[base + c] - x0;
    float m = rowSum(acc) / float(p.C); // mean − x0
    acc = 0.0;
    for (uint c = t; c < p.C; c += L) {
        float d = (x[base + c] - x0) - m;
        acc += d * d;
    }
    float inv = inversesqrt(rowSum(acc) / float(p.C) + p.eps);
    for (uint c = t; c < p.C; c += L) {
        float v = ((x[base + c] - x0) - m) * inv;
        if (p.affine != 0) v = v * w[c] + b[c];
        o[base + c] = v;
    }
}
