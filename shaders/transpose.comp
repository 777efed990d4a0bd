#version 450
// Batched transpose of a column window: out[b, c, r] = x[(b * R + r) * xst + x0 + c] for
// out [B, C, R] float32 (x's rows b*R .. b*R+R-1 hold batch b; the window is C columns at x0 of
// rows of xst). One element of out per invocation, consecutive invocations along r.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint B, R, C, xst, x0; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.B * p.R * p.C) return;
    uint r = i % p.R, bc = i / p.R, c = bc % p.C, b = bc / p.C;
    o[i] = x[(b * p.R + r) * p.xst + p.x0 + c];
}
