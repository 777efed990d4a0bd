// GLA chunked form, pass 1 of 3, part 1: attention between sub-chunks and the gated queries
// (included by gla_intra.comp and gla_intra_f16.comp). One invocation owns sub-chunk I >= 1
// (rows p = 16I .. 16I+15; I is a spec constant, one pipeline per sub-chunk: lavapipe runs the
// arithmetic of untaken branches under a mask) of chunk c for head h and writes, for its rows i
// (positions within the chunk) and the columns s < p of earlier sub-chunks,
//   abuf[i, s] = scale * sum_d q[i,d] k[s,d] exp(G[i,d] - G[s,d])
//   qs[i, d]   = scale * q[i,d] exp(G[i,d])
// with G the inclusive cumulative sum of g inside the chunk; gla_diag writes the diagonal blocks
// (and qs of sub-chunk 0). No exponent above 0 is formed: with e_u = exp(g_u) (<= 1 when g <= 0),
// every factor exp(G[a] - G[b]) (a >= b) is a product of the e_u for b < u <= a, and the factor
// between rows i >= p > s splits at the pivot p, exp(G[i]-G[p]) * exp(G[p]-G[s]), so the block is
// one small matrix product of gated queries and gated keys. Rows are relative to rowBase (the
// segment's first row).
#include "gla_io.glsl"
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool K4 = false; // K % 4 == 0
layout(constant_id = 2) const int I = 1;       // the sub-chunk, 1 .. 3
const int NC4 = 4 * I;                          // vec4 columns of the earlier sub-chunks

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
    int id = int(linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    const int H = p.H, K = p.K;
    int h = id % H, c = p.segA + id / H;
    if (c >= p.segB) return;
    int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];
    int pv = GLA_SUB * I;
    if (pv >= len) return;

    vec4 acc[GLA_SUB][NC4]; // columns 0 .. 16I-1 (sub-chunks J < I)
    [[unroll]] for (int i = 0; i < GLA_SUB; i++)
        [[unroll]] for (int j = 0; j < NC4; j++) acc[i][j] = vec4(0.0);

    for (int d = 0; d < p.Kp; d += 4) {
        vec4 qb[GLA_SUB], eb[GLA_SUB];
        [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
            uint e = uint((row0 + min(pv + i, len - 1)) * H + h) * uint(K);
            qb[i] = ld_q(e, d, K);
            eb[i] = exp(ld_g(e, d, K));
        }
        // queries gated from the pivot: qt_i = q_i * exp(G_i - G_p)
        vec4 qt[GLA_SUB];
        vec4 P = vec4(1.0);
        [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
            if (i > 0) P *= eb[i];
            qt[i] = qb[i] * P;
        }
        // earlier sub-chunks, newest row first: kt_s = k_s * exp(G_p - G_s)
        vec4 R = vec4(1.0), eprev = eb[0];
        [[unroll]] for (int J = I - 1; J >= 0; J--) {
            [[unroll]] for (int s = GLA_SUB - 1; s >= 0; s--) {
                uint e = uint((row0 + GLA_SUB * J + s) * H + h) * uint(K);
                R *= eprev;
                vec4 kt = ld_k(e, d, K) * R;
                eprev = exp(ld_g(e, d, K));
                [[unroll]] for (int i = 0; i < GLA_SUB; i++) acc[i][4 * J + s / 4][s % 4] += dot(qt[i], kt);
            }
        }
        // gated queries for the inter-chunk term: exp(G_i) = exp(G_p) * exp(G_i - G_p)
        vec4 Z = R * eprev * p.scale;
        [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
            if (pv + i < len) qs4[(uint((row0 + pv + i - p.rowBase) * H + h) * uint(p.Kp) + uint(d)) >> 2] = qt[i] * Z;
        }
    }

    // row by row from the top row, shifting the tile up: 4I store sites (LLVM compile time)
    [[dont_unroll]] for (int i = 0; i < GLA_SUB; i++) {
        if (pv + i < len) {
            uint base = (uint((row0 + pv + i - p.rowBase) * H + h) * uint(GLA_C)) >> 2;
            [[unroll]] for (int j = 0; j < NC4; j++) ab4[base + uint(j)] = acc[0][j] * p.scale;
        }
        [[unroll]] for (int r = 0; r < GLA_SUB - 1; r++)
            [[unroll]] for (int j = 0; j < NC4; j++) acc[r][j] = acc[r + 1][j];
    }
}
