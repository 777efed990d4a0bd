#version 450
// Device ceiling: FMA rate. Each invocation runs CHAINS independent FMA chains (8, 16 or 32) of
// type T (float or vec4, by WIDTH = 1 or 4) for p.iters steps (2 FLOP per lane per FMA) and
// writes one sum so that the work cannot be removed. The chains beyond CHAINS and the unused width
// are removed by the driver once the specialization constants are known; bench.MeasureCeilings
// keeps the best variant.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint CHAINS = 8;
layout(constant_id = 2) const uint WIDTH = 1;
layout(std430, binding = 0) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform P { uint n; uint iters; float a; float b; } p;

// CHAINS chains of type T seeded from x0, advanced p.iters times; their sum goes to r.
#define RUN(T, x0, r)                                                                                     \
    {                                                                                                     \
        T a = T(p.a), b = T(p.b);                                                                         \
        T s0 = x0, s1 = s0 + 1e-3, s2 = s0 + 2e-3, s3 = s0 + 3e-3, s4 = s0 + 4e-3, s5 = s0 + 5e-3;         \
        T s6 = s0 + 6e-3, s7 = s0 + 7e-3;                                                                 \
        T t0 = s0 - 1e-2, t1 = s1 - 1e-2, t2 = s2 - 1e-2, t3 = s3 - 1e-2, t4 = s4 - 1e-2, t5 = s5 - 1e-2; \
        T t6 = s6 - 1e-2, t7 = s7 - 1e-2;                                                                 \
        T u0 = s0 + 2e-2, u1 = s1 + 2e-2, u2 = s2 + 2e-2, u3 = s3 + 2e-2, u4 = s4 + 2e-2, u5 = s5 + 2e-2; \
        T u6 = s6 + 2e-2, u7 = s7 + 2e-2;                                                                 \
        T v0 = s0 - 3e-2, v1 = s1 - 3e-2, v2 = s2 - 3e-2, v3 = s3 - 3e-2, v4 = s4 - 3e-2, v5 = s5 - 3e-2; \
        T v6 = s6 - 3e-2, v7 = s7 - 3e-2;                                                                 \
        for (uint it = 0; it < p.iters; it++) {                                                           \
            F8(s0, s1, s2, s3, s4, s5, s6, s7);                                                           \
            if (CHAINS >= 16) { F8(t0, t1, t2, t3, t4, t5, t6, t7); }                                     \
            if (CHAINS >= 32) { F8(u0, u1, u2, u3, u4, u5, u6, u7); F8(v0, v1, v2, v3, v4, v5, v6, v7); } \
        }                                                                                                 \
        T sum = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));                                       \
        if (CHAINS >= 16) sum += ((t0 + t1) + (t2 + t3)) + ((t4 + t5) + (t6 + t7));                       \
        if (CHAINS >= 32) sum += ((u0 + u1) + (u2 + u3)) + ((u4 + u5) + (u6 + u7)) +                      \
                                 ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7));                       \
        r = dot(vec4(sum), vec4(1));                                                                      \
    }
#define F8(x0, x1, x2, x3, x4, x5, x6, x7) \
    x0 = fma(x0, a, b); x1 = fma(x1, a, b); x2 = fma(x2, a, b); x3 = fma(x3, a, b); \
    x4 = fma(x4, a, b); x5 = fma(x5, a, b); x6 = fma(x6, a, b); x7 = fma(x7, a, b)

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    float r;
    if (WIDTH == 4) RUN(vec4, vec4(float(i) * 1e-7) + vec4(0, 1e-4, 2e-4, 3e-4), r)
    else RUN(float, float(i) * 1e-7, r)
    if (i < p.n) outv[i] = r;
}
