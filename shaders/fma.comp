#version 450
#extension GL_EXT_control_flow_attributes : require
// Device ceiling: FMA rate. Each invocation runs 8 independent scalar FMA chains for p.iters steps
// (2 FLOP per FMA) and writes one sum so that the work cannot be removed.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform P { uint n; uint iters; float a; float b; } p;
void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    float s0 = float(i) * 1e-7, s1 = s0 + 1e-3, s2 = s0 + 2e-3, s3 = s0 + 3e-3;
    float s4 = s0 + 4e-3, s5 = s0 + 5e-3, s6 = s0 + 6e-3, s7 = s0 + 7e-3;
    for (uint it = 0; it < p.iters; it++) {
        s0 = fma(s0, p.a, p.b); s1 = fma(s1, p.a, p.b); s2 = fma(s2, p.a, p.b); s3 = fma(s3, p.a, p.b);
        s4 = fma(s4, p.a, p.b); s5 = fma(s5, p.a, p.b); s6 = fma(s6, p.a, p.b); s7 = fma(s7, p.a, p.b);
    }
    if (i < p.n) outv[i] = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}
