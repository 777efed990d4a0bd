// GLA chunked form, pass 1 of 3: the intra-chunk attention and the gated queries (included by
// gla_intra.comp and gla_intra_f16.comp). One invocation owns sub-chunk I (rows 16I .. 16I+15)
// of chunk c for head h and writes, for its rows i (positions within the chunk):
//   abuf[i, 0..63] = scale * sum_d q[i,d] k[s,d] exp(G[i,d] - G[s,d])  for s <= i, else 0
//   qs[i, d]       = scale * q[i,d] exp(G[i,d])
// with G the inclusive cumulative sum of g inside the chunk. No exponent above 0 is formed:
// with e_u = exp(g_u) (<= 1 when g <= 0), every factor exp(G[a] - G[b]) (a >= b) is the product
// of the e_u for b < u <= a. Against earlier sub-chunks (s < p = 16I) it factors through the
// pivot p, exp(G[i]-G[s]) = exp(G[i]-G[p]) * exp(G[p]-G[s]), both products of e_u, so those
// blocks are one small matrix product; inside the diagonal 16 x 16 block the factor is built per
// element as a running product. Rows and columns are relative to rowBase (the segment's first row).
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

    vec4 acc[GLA_SUB][12]; // columns 0 .. 47 (sub-chunks J < I)
    vec4 dg[GLA_SUB][4];   // the diagonal block, columns 16I .. 16I+15
    [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
        [[unroll]] for (int j = 0; j < 12; j++) acc[i][j] = vec4(0.0);
        [[unroll]] for (int j = 0; j < 4; j++) dg[i][j] = vec4(0.0);
    }

    for (int d = 0; d < p.Kp; d += 4) {
        int m = K - d;
        vec4 qb[GLA_SUB], kb[GLA_SUB], eb[GLA_SUB];
        [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
            uint e = uint((row0 + min(pv + i, len - 1)) * H + h) * uint(K) + uint(d);
            qb[i] = ld_q(e, m);
            kb[i] = ld_k(e, m);
            eb[i] = exp(ld_g(e, m));
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
        [[unroll]] for (int J = 2; J >= 0; J--) {
            if (J < I) {
                [[unroll]] for (int s = GLA_SUB - 1; s >= 0; s--) {
                    uint e = uint((row0 + GLA_SUB * J + s) * H + h) * uint(K) + uint(d);
                    R *= eprev;
                    vec4 kt = ld_k(e, m) * R;
                    eprev = exp(ld_g(e, m));
                    [[unroll]] for (int i = 0; i < GLA_SUB; i++) acc[i][4 * J + s / 4][s % 4] += dot(qt[i], kt);
                }
            }
        }
        // gated queries for the inter-chunk term: exp(G_i) = exp(G_p) * exp(G_i - G_p)
        vec4 Z = R * eprev * p.scale;
        [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
            if (pv + i < len) qs4[(uint((row0 + pv + i - p.rowBase) * H + h) * uint(p.Kp) + uint(d)) >> 2] = qt[i] * Z;
        }
        // the diagonal block, factor by factor
        [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
            vec4 r = vec4(1.0);
            [[unroll]] for (int s = i; s >= 0; s--) {
                dg[i][s / 4][s % 4] += dot(qb[i] * kb[s], r);
                r *= eb[s];
            }
        }
    }

    [[unroll]] for (int i = 0; i < GLA_SUB; i++) {
        if (pv + i >= len) break;
        uint base = (uint((row0 + pv + i - p.rowBase) * H + h) * uint(GLA_C)) >> 2;
        [[unroll]] for (int J = 0; J < 4; J++) {
            [[unroll]] for (int j = 0; j < 4; j++) {
                vec4 x = vec4(0.0);
                if (J < I) x = acc[i][J < 3 ? 4 * J + j : 0];
                else if (J == I) x = dg[i][j];
                ab4[base + uint(4 * J + j)] = x * p.scale;
            }
        }
    }
}
