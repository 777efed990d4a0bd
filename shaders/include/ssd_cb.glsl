// SSD step 2: CB[bl, g, cl, i, j] = C_i · B_j (over N) for i, j in chunk c0 + cl of the part, for
// j ≤ i only (tiles wholly above the diagonal are skipped and never read). One invocation per
// TI × TJ tile; tokens past L read a clamped (finite) row, cancelled later by dtp = 0.
#include "ssd_common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const int TI = 8;
layout(constant_id = 3) const int TJ = 8;
ACT_IN(0, bm)
ACT_IN(1, cm)
F32_OUT(2, cb)
// nb batches, S chunks in this part; t0: its first token; tokens: valid tokens per batch in the
// part; tokStride: tokens per batch in the bound window; base: window base of B and C.
layout(push_constant) uniform P { uint nb, S, G, N, Q, t0, tokens, tokStride, base; } p;

void main() {
    uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint ti = p.Q / TI, tj = p.Q / TJ, ntile = ti * tj;
    if (idx >= p.nb * p.G * p.S * ntile) return;
    uint tile = idx % ntile, bgc = idx / ntile, cl = bgc % p.S, bg = bgc / p.S, g = bg % p.G, bl = bg / p.G;
    uint i0 = (tile / tj) * TI, j0 = (tile % tj) * TJ;
    if (j0 > i0 + TI - 1) return; // above the diagonal
    uint rowLen = p.G * p.N;
    uint tc = cl * p.Q; // chunk start, part-local
    uint last = p.tokens - 1u;
    vec4 acc[TI][TJ / 4];
    [[unroll]] for (int a = 0; a < TI; a++) [[unroll]] for (int q = 0; q < TJ / 4; q++) acc[a][q] = vec4(0.0);
    for (uint n = 0; n < p.N; n += 4) {
        int nv = nvalid(n, p.N);
        vec4 cv[TI], bv[TJ];
        [[unroll]] for (int a = 0; a < TI; a++) {
            uint t = min(tc + i0 + a, last);
            cv[a] = ldv(cm, p.base + (bl * p.tokStride + t) * rowLen + g * p.N + n, nv);
        }
        [[unroll]] for (int e = 0; e < TJ; e++) {
            uint t = min(tc + j0 + e, last);
            bv[e] = ldv(bm, p.base + (bl * p.tokStride + t) * rowLen + g * p.N + n, nv);
        }
        [[unroll]] for (int a = 0; a < TI; a++)
            [[unroll]] for (int q = 0; q < TJ / 4; q++)
                acc[a][q] += vec4(dot(cv[a], bv[4 * q]), dot(cv[a], bv[4 * q + 1]), dot(cv[a], bv[4 * q + 2]), dot(cv[a], bv[4 * q + 3]));
    }
    uint o = ((bl * p.G + g) * p.S + cl) * p.Q * p.Q;
    [[unroll]] for (int a = 0; a < TI; a++)
        [[unroll]] for (int q = 0; q < TJ / 4; q++) cb4[(o + (i0 + a) * p.Q + j0) / 4 + q] = acc[a][q];
}
