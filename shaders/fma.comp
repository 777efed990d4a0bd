#version 450
// Device ceiling: FMA rate. Each invocation runs CHAINS independent FMA chains (8 to 128, in
// groups of 8) of type T (float or vec4, by WIDTH = 1 or 4) for p.iters steps (2 FLOP per lane
// per FMA) and writes one sum so that the work cannot be removed. The groups beyond CHAINS and the
// unused width are removed by the driver once the specialization constants are known;
// bench.MeasureCeilings keeps the best variant. Many chains matter on CPU devices: lavapipe pays
// a fixed cost per loop iteration that only enough FMAs per iteration hide (a register-tiled
// GEMM holds 64 to 128 accumulators per invocation, so a ceiling with fewer is not a ceiling).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint CHAINS = 8;
layout(constant_id = 2) const uint WIDTH = 1;
layout(std430, binding = 0) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform P { uint n; uint iters; float a; float b; } p;

// G declares group g of 8 chains of type T, seeded from x0 plus a per-group offset o.
#define G(T, g, x0, o)                                                                                 \
    T g##0 = x0 + o, g##1 = g##0 + 1e-3, g##2 = g##0 + 2e-3, g##3 = g##0 + 3e-3, g##4 = g##0 + 4e-3; \
    T g##5 = g##0 + 5e-3, g##6 = g##0 + 6e-3, g##7 = g##0 + 7e-3
// F advances group g by one FMA per chain.
#define F(g)                                                                                 \
    g##0 = fma(g##0, a, b); g##1 = fma(g##1, a, b); g##2 = fma(g##2, a, b); g##3 = fma(g##3, a, b); \
    g##4 = fma(g##4, a, b); g##5 = fma(g##5, a, b); g##6 = fma(g##6, a, b); g##7 = fma(g##7, a, b)
// S is the sum of group g's chains.
#define S(g) (((g##0 + g##1) + (g##2 + g##3)) + ((g##4 + g##5) + (g##6 + g##7)))
// K runs group g (the k-th, 0-based) when CHAINS has room for it.
#define K(g, k) if (CHAINS >= 8 * (k + 1)) { F(g); }
#define KS(g, k) if (CHAINS >= 8 * (k + 1)) sum += S(g);

#define RUN(T, x0, r)                                                                                  \
    {                                                                                                  \
        T a = T(p.a), b = T(p.b);                                                                      \
        G(T, c0, x0, 0.00); G(T, c1, x0, 0.01); G(T, c2, x0, 0.02); G(T, c3, x0, 0.03);                \
        G(T, c4, x0, 0.04); G(T, c5, x0, 0.05); G(T, c6, x0, 0.06); G(T, c7, x0, 0.07);                \
        G(T, c8, x0, 0.08); G(T, c9, x0, 0.09); G(T, ca, x0, 0.10); G(T, cb, x0, 0.11);                \
        G(T, cc, x0, 0.12); G(T, cd, x0, 0.13); G(T, ce, x0, 0.14); G(T, cf, x0, 0.15);                \
        for (uint it = 0; it < p.iters; it++) {                                                        \
            K(c0, 0) K(c1, 1) K(c2, 2) K(c3, 3) K(c4, 4) K(c5, 5) K(c6, 6) K(c7, 7)                    \
            K(c8, 8) K(c9, 9) K(ca, 10) K(cb, 11) K(cc, 12) K(cd, 13) K(ce, 14) K(cf, 15)              \
        }                                                                                              \
        T sum = T(0);                                                                                  \
        KS(c0, 0) KS(c1, 1) KS(c2, 2) KS(c3, 3) KS(c4, 4) KS(c5, 5) KS(c6, 6) KS(c7, 7)                \
        KS(c8, 8) KS(c9, 9) KS(ca, 10) KS(cb, 11) KS(cc, 12) KS(cd, 13) KS(ce, 14) KS(cf, 15)          \
        r = dot(vec4(sum), vec4(1));                                                                   \
    }

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    float r;
    if (WIDTH == 4) RUN(vec4, vec4(float(i) * 1e-7) + vec4(0, 1e-4, 2e-4, 3e-4), r)
    else RUN(float, float(i) * 1e-7, r)
    if (i < p.n) outv[i] = r;
}
