#version 450
// Device ceiling: FMA rate. Each invocation runs CHAINS independent scalar FMA chains for
// p.iters steps (2 FLOP each) and writes one sum so the work cannot be removed.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int CHAINS = 8;
layout(std430, binding = 0) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform P { uint n; uint iters; float a; float b; } p;
void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    float x[CHAINS];
    for (int c = 0; c < CHAINS; c++) x[c] = float(i + uint(c)) * 1e-7;
    for (uint it = 0; it < p.iters; it++) {
        for (int c = 0; c < CHAINS; c++) x[c] = fma(x[c], p.a, p.b);
    }
    float s = 0.0;
    for (int c = 0; c < CHAINS; c++) s += x[c];
    if (i < p.n) outv[i] = s;
}
