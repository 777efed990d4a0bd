// SSD step 4: the output, parallel over (batch, head, chunk, row tile, P tile). For rows i of a
// chunk (entering state H_c from ssd_state, C·Bᵀ from ssd_cb):
//   y_i = exp(G_i) H_c C_i + Σ_{j ≤ i} (C_i·B_j) exp(G_i - G_j) dtp_j x_j + D x_i;  out = y silu(z_i)
// as a register-tiled product over N (the state term) and over j (the intra-chunk term). Blocks of
// j on the tile's diagonal form the exponent difference per element and select masked entries
// away (never multiplied, so the unwritten upper part of C·Bᵀ is never used); blocks wholly below
// it pivot on the tile's first row, so that every exponent evaluated is ≤ 0 (docs/design.md §5).
//
// COOP (CPU devices, where a workgroup is one subgroup of 8 lanes and every buffer access is
// emitted lane by lane): the 8 lanes of a workgroup take 8 consecutive P tiles of the same rows,
// and the rows' C and C·Bᵀ values, which all of them need, are loaded once (each lane loads an
// eighth) and shared with subgroupBroadcast; TI is then a multiple of 8.
#extension GL_KHR_shader_subgroup_ballot : require
#include "ssd_common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const int TI = 8;  // rows per lane, a multiple of 4
layout(constant_id = 3) const int TP = 8;  // P columns per lane, a multiple of 4
layout(constant_id = 4) const bool COOP = false;
ACT_IN(0, x)
ACT_IN(1, cm)
ACT_IN(2, z)
F32_IN(3, cb)
F32_IN(4, hst)
F32_IN(5, wdtp)
F32_IN(6, wG)
layout(std430, binding = 7) readonly buffer DB { float Dh[]; };
ACT_OUT(8, o)
layout(push_constant) uniform P {
    uint nb, b0, S, H, G, P, N, Q, Lp, c0, tokens, tokStride, xbase, cbase, flags, hPerG;
} p;
const uint HAS_D = 1u, HAS_Z = 2u;

// v[i] for i in [base, base + 8): lane l's w, for every lane.
#define BCAST8(v, base, w) { v[(base) + 0] = subgroupBroadcast(w, 0u); v[(base) + 1] = subgroupBroadcast(w, 1u); \
    v[(base) + 2] = subgroupBroadcast(w, 2u); v[(base) + 3] = subgroupBroadcast(w, 3u); v[(base) + 4] = subgroupBroadcast(w, 4u); \
    v[(base) + 5] = subgroupBroadcast(w, 5u); v[(base) + 6] = subgroupBroadcast(w, 6u); v[(base) + 7] = subgroupBroadcast(w, 7u); }

void main() {
    uint itiles = p.Q / TI, ptiles = (p.P + TP - 1) / TP;
    uint pt, rest;
    bool live = true; // this lane's P tile exists (COOP: lanes past the last tile only help load)
    if (COOP) {
        uint groups = (ptiles + 7u) / 8u, wg = linear_group();
        if (wg >= p.nb * p.H * p.S * itiles * groups) return; // the whole workgroup
        pt = (wg % groups) * 8u + gl_LocalInvocationID.x;
        rest = wg / groups;
        live = pt < ptiles;
        if (!live) pt = 0u;
    } else {
        uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
        if (idx >= p.nb * p.H * p.S * itiles * ptiles) return;
        pt = idx % ptiles;
        rest = idx / ptiles;
    }
    uint it = rest % itiles;
    rest /= itiles;
    uint cl = rest % p.S, bh = rest / p.S, h = bh % p.H, bl = bh / p.H;
    uint bg = p.b0 + bl, g = h / p.hPerG, c = p.c0 + cl;
    uint i0 = it * TI, p0 = pt * TP, tc = cl * p.Q;
    if (tc + i0 >= p.tokens) return; // rows past L
    uint nj = min(p.Q, p.tokens - tc), last = p.tokens - 1u;
    uint gidx = (bg * p.H + h) * p.Lp + c * p.Q;
    vec4 y[TI][TP / 4];
    [[unroll]] for (int a = 0; a < TI; a++) [[unroll]] for (int q = 0; q < TP / 4; q++) y[a][q] = vec4(0.0);

    // The state term: y_i += H_c C_i, then scaled by exp(G_i).
    uint ho = (((bl * p.H + h) * p.S + cl) * p.P) * p.N;
    for (uint n = 0; n < p.N; n += 4) {
        int nv = nvalid(n, p.N);
        vec4 cv[TI], hv[TP];
        if (COOP) {
            [[unroll]] for (int r = 0; r < TI / 8; r++) {
                uint row = p.tokStride * bl + min(tc + i0 + 8 * r + gl_LocalInvocationID.x, last);
                vec4 w = ldv(cm, p.cbase + (row * p.G + g) * p.N + n, nv);
                BCAST8(cv, 8 * r, w)
            }
        } else {
            [[unroll]] for (int a = 0; a < TI; a++) {
                uint row = p.tokStride * bl + min(tc + i0 + a, last);
                cv[a] = ldv(cm, p.cbase + (row * p.G + g) * p.N + n, nv);
            }
        }
        [[unroll]] for (int e = 0; e < TP; e++)
            hv[e] = ldf(hst, ho + min(p0 + e, p.P - 1) * p.N + n, nv);
        [[unroll]] for (int a = 0; a < TI; a++)
            [[unroll]] for (int q = 0; q < TP / 4; q++)
                y[a][q] += vec4(dot(cv[a], hv[4 * q]), dot(cv[a], hv[4 * q + 1]), dot(cv[a], hv[4 * q + 2]), dot(cv[a], hv[4 * q + 3]));
    }
    float gi[TI], ri[TI]; // G_i, and exp(G_i - G_i0) ≤ 1
    [[unroll]] for (int a = 0; a < TI; a++) {
        gi[a] = f1(wG, gidx + i0 + a);
        float e = exp(gi[a]);
        [[unroll]] for (int q = 0; q < TP / 4; q++) y[a][q] *= e;
        ri[a] = exp(gi[a] - gi[0]);
    }

    // The intra-chunk term over j ≤ i.
    uint co = (((bl * p.G + g) * p.S + cl) * p.Q) * p.Q;
    uint jend = min(i0 + TI, nj);
    for (uint j = 0; j < jend; j += 4) {
        vec4 gj = f4(wG, (gidx + j) / 4), dj = f4(wdtp, (gidx + j) / 4);
        vec4 xv[4][TP / 4];
        [[unroll]] for (int k = 0; k < 4; k++) {
            uint row = p.tokStride * bl + min(tc + j + k, last);
            [[unroll]] for (int q = 0; q < TP / 4; q++)
                xv[k][q] = ldv(x, p.xbase + (row * p.H + h) * p.P + p0 + 4 * q, nvalid(p0 + 4 * q, p.P));
        }
        if (COOP) {
            // Lane l forms the weights m of rows 8r + l (C·Bᵀ times the decay and dtp, masked
            // above the diagonal) and every lane receives all TI rows.
            vec4 mr[TI];
            vec4 cj; // below the tile's first row: the pivot's column factors
            [[unroll]] for (int k = 0; k < 4; k++) cj[k] = exp(min(gi[0] - gj[k], 0.0)) * dj[k];
            [[unroll]] for (int r = 0; r < TI / 8; r++) {
                uint a = 8u * uint(r) + gl_LocalInvocationID.x;
                vec4 cbv = f4(cb, (co + (i0 + a) * p.Q + j) / 4);
                float ga = f1(wG, gidx + i0 + a);
                vec4 m;
                if (j + 3u < i0) m = cbv * cj * exp(ga - gi[0]);
                else [[unroll]] for (int k = 0; k < 4; k++) m[k] = j + k <= i0 + a ? cbv[k] * exp(ga - gj[k]) * dj[k] : 0.0;
                BCAST8(mr, 8 * r, m)
            }
            [[unroll]] for (int a = 0; a < TI; a++)
                [[unroll]] for (int k = 0; k < 4; k++)
                    [[unroll]] for (int q = 0; q < TP / 4; q++) y[a][q] += mr[a][k] * xv[k][q];
        } else if (j + 3u < i0) {
            // Wholly below the tile's first row i0: exp(G_i - G_j) = exp(G_i - G_i0) exp(G_i0 - G_j),
            // both exponents ≤ 0, so 4 exponentials per block instead of 4 TI.
            vec4 cj;
            [[unroll]] for (int k = 0; k < 4; k++) cj[k] = exp(gi[0] - gj[k]) * dj[k];
            [[unroll]] for (int a = 0; a < TI; a++) {
                vec4 m = f4(cb, (co + (i0 + a) * p.Q + j) / 4) * cj * ri[a];
                [[unroll]] for (int k = 0; k < 4; k++)
                    [[unroll]] for (int q = 0; q < TP / 4; q++) y[a][q] += m[k] * xv[k][q];
            }
        } else {
            [[unroll]] for (int a = 0; a < TI; a++) {
                vec4 cbv = f4(cb, (co + (i0 + a) * p.Q + j) / 4);
                [[unroll]] for (int k = 0; k < 4; k++) {
                    float m = j + k <= i0 + a ? cbv[k] * exp(gi[a] - gj[k]) * dj[k] : 0.0;
                    [[unroll]] for (int q = 0; q < TP / 4; q++) y[a][q] += m * xv[k][q];
                }
            }
        }
    }

    if (!live) return;
    float dh = (p.flags & HAS_D) != 0u ? Dh[h] : 0.0;
    [[unroll]] for (int a = 0; a < TI; a++) {
        if (tc + i0 + a >= p.tokens) break;
        uint row = p.tokStride * bl + tc + i0 + a;
        [[unroll]] for (int q = 0; q < TP / 4; q++) {
            uint pp = p0 + 4 * q;
            int pv = nvalid(pp, p.P);
            if (pv == 0) break;
            uint e = p.xbase + (row * p.H + h) * p.P + pp;
            vec4 v = y[a][q] + dh * ldv(x, e, pv);
            if ((p.flags & HAS_Z) != 0u) {
                vec4 zv = ldv(z, e, pv);
                [[unroll]] for (int k = 0; k < 4; k++) v[k] *= silu(zv[k]);
            }
            if (VEC) st4(o, e / 4, v);
            else [[unroll]] for (int k = 0; k < 4; k++) if (k < pv) st1(o, e + k, v[k]);
        }
    }
}
