// GLA chunked form, pass 1 of 3, part 2: the diagonal blocks of the intra-chunk attention
// (included by gla_diag.comp and gla_diag_f16.comp). One invocation owns sub-chunk I (rows
// p = 16I .. 16I+15) of chunk c for head h and writes, for its rows i and the columns s of the
// same sub-chunk,
//   abuf[i, s] = scale * sum_d q[i,d] k[s,d] exp(G[i,d] - G[s,d])  for s <= i, else 0
// (and 0 in the next sub-chunk's columns when I is even, so that 32-row output tiles read zeros)
// and, for sub-chunk 0, the gated queries qs[i, d] = scale * q[i,d] exp(G[i,d]) (gla_intra writes
// the rest). As in gla_intra every factor is a product of e_u = exp(g_u) (no exponent above 0
// when g <= 0), here built element by element as a running product.
#include "gla_io.glsl"
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool K4 = false; // K % 4 == 0

layout(std430, binding = 0) readonly buffer Tab { int tab[]; };
SEQ_BUF(1, q, readonly)
SEQ_BUF(2, k, readonly)
SEQ_BUF(3, g, readonly)
layout(std430, binding = 4) writeonly buffer Ab { vec4 ab4[]; };
layout(std430, binding = 5) writeonly buffer Qs { vec4 qs4[]; };
layout(push_constant) uniform P { int H, K, Kp, N, segA, segB, rowBase; float scale; } p;
SEQ_LOAD(q, K4)
SEQ_LOAD(k, K4)
SEQ_LOAD(g, K4)

void main() {
    const int I = int(gl_WorkGroupID.z);
    int id = int(linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    const int H = p.H, K = p.K;
    int h = id % H, c = p.segA + id / H;
    if (c >= p.segB) return;
    int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];
    int pv = GLA_SUB * I;
    if (pv >= len) return;

    vec4 dg[GLA_SUB][4];
    [[unroll]] for (int i = 0; i < GLA_SUB; i++)
        [[unroll]] for (int j = 0; j < 4; j++) dg[i][j] = vec4(0.0);

    for (int d = 0; d < p.Kp; d += 4) {
        vec4 qb[GLA_SUB], kb[GLA_SUB], eb[GLA_SUB];
        [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
            uint e = uint((row0 + min(pv + i, len - 1)) * H + h) * uint(K);
            qb[i] = ld_q(e, d, K);
            kb[i] = ld_k(e, d, K);
            eb[i] = exp(ld_g(e, d, K));
        }
        // sub-chunk 0: gated queries, exp(G_i) = e_0 * ... * e_i
        if (I == 0) {
            vec4 P = p.scale * eb[0];
            [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
                if (i > 0) P *= eb[i];
                if (i < len) qs4[(uint((row0 + i - p.rowBase) * H + h) * uint(p.Kp) + uint(d)) >> 2] = qb[i] * P;
            }
        }
        // Row by row (a loop, not unrolled: LLVM compiles the unrolled triangle very slowly), the
        // row's query in qb[0] and its sums in dg[0], both tiles rotating up by one row per step;
        // columns s <= i accumulate q_i . k_s exp(G_i - G_s), the factor a running product of e_u.
        [[dont_unroll]] for (int i = 0; i < GLA_SUB; i++) {
            vec4 r = vec4(1.0), x[4];
            [[unroll]] for (int j = 0; j < 4; j++) x[j] = dg[0][j];
            [[unroll]] for (int s = GLA_SUB - 1; s >= 0; s--) {
                bool on = s <= i;
                x[s / 4][s % 4] += on ? dot(qb[0] * kb[s], r) : 0.0;
                r = on ? r * eb[s] : r;
            }
            vec4 q0 = qb[0];
            [[unroll]] for (int t = 0; t < GLA_SUB - 1; t++) {
                qb[t] = qb[t + 1];
                [[unroll]] for (int j = 0; j < 4; j++) dg[t][j] = dg[t + 1][j];
            }
            qb[GLA_SUB - 1] = q0;
            [[unroll]] for (int j = 0; j < 4; j++) dg[GLA_SUB - 1][j] = x[j];
        }
    }

    // row by row from the top row, shifting the tile up: 4 store sites (LLVM compile time)
    [[dont_unroll]] for (int i = 0; i < GLA_SUB; i++) {
        if (pv + i < len) {
            uint base = (uint((row0 + pv + i - p.rowBase) * H + h) * uint(GLA_C) + uint(pv)) >> 2;
            [[unroll]] for (int j = 0; j < 4; j++) ab4[base + uint(j)] = dg[0][j] * p.scale;
            // zeros above the diagonal in the next sub-chunk's columns, for output tiles of 32 rows
            if (I % 2 == 0) {
                [[unroll]] for (int j = 4; j < 8; j++) ab4[base + uint(j)] = vec4(0.0);
            }
        }
        [[unroll]] for (int r = 0; r < GLA_SUB - 1; r++)
            [[unroll]] for (int j = 0; j < 4; j++) dg[r][j] = dg[r + 1][j];
    }
}
