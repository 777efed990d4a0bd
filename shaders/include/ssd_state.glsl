// SSD step 3: the state passing, sequential over the chunks of a part, parallel over
// (batch, head, P tile, N tile). A lane holds a TP × TN tile of the state H in registers and, for
// each chunk, stores H (the state entering the chunk, for ssd_out), then
//   H = exp(G_last) H + Σ_j exp(G_last - G_j) dtp_j x_jᵀ B_j        (every exponent ≤ 0 when A ≤ 0)
// The part starts from hin (the initial states, or the previous part's result) and ends in hout
// (the final states); hin and hout may be the same memory (each lane reads its tile first).
//
// COOP (CPU devices, where a workgroup is one subgroup of 8 lanes and every buffer access is
// emitted lane by lane): the 8 lanes of a workgroup take 8 consecutive N tiles of the same P
// tile, and the weighted rows of x, which all of them need, are loaded once (each lane loads an
// eighth) and shared with subgroupBroadcast; TP is then a multiple of 8.
#extension GL_KHR_shader_subgroup_ballot : require
#include "ssd_common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const int TP = 8;  // a multiple of 4
layout(constant_id = 3) const int TN = 16; // a multiple of 4
layout(constant_id = 4) const bool COOP = false;
ACT_IN(0, x)
ACT_IN(1, bm)
F32_IN(2, wdtp)
F32_IN(3, wG)
F32_IN(4, hin)
F32_OUT(5, hst)
F32_OUT(6, hout)
layout(push_constant) uniform P {
    uint nb, b0, S, H, G, P, N, Q, Lp, c0, tokens, tokStride, xbase, bbase, flags, hPerG;
} p;
const uint HAS_INIT = 1u;

#define BCAST8(v, base, w) { v[(base) + 0] = subgroupBroadcast(w, 0u); v[(base) + 1] = subgroupBroadcast(w, 1u); \
    v[(base) + 2] = subgroupBroadcast(w, 2u); v[(base) + 3] = subgroupBroadcast(w, 3u); v[(base) + 4] = subgroupBroadcast(w, 4u); \
    v[(base) + 5] = subgroupBroadcast(w, 5u); v[(base) + 6] = subgroupBroadcast(w, 6u); v[(base) + 7] = subgroupBroadcast(w, 7u); }

void main() {
    uint ptiles = (p.P + TP - 1) / TP, ntiles = (p.N + TN - 1) / TN;
    uint nt, rest;
    bool live = true; // this lane's N tile exists (COOP: lanes past the last tile only help load)
    if (COOP) {
        uint groups = (ntiles + 7u) / 8u, wg = linear_group();
        if (wg >= p.nb * p.H * ptiles * groups) return; // the whole workgroup
        nt = (wg % groups) * 8u + gl_LocalInvocationID.x;
        rest = wg / groups;
        live = nt < ntiles;
        if (!live) nt = 0u;
    } else {
        uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
        if (idx >= p.nb * p.H * ptiles * ntiles) return;
        nt = idx % ntiles;
        rest = idx / ntiles;
    }
    uint pt = rest % ptiles, bh = rest / ptiles, h = bh % p.H, bl = bh / p.H;
    uint bg = p.b0 + bl, g = h / p.hPerG;
    uint p0 = pt * TP, n0 = nt * TN;
    vec4 hs[TP][TN / 4];
    uint so = ((bg * p.H + h) * p.P) * p.N; // this (b, h)'s state in hin / hout
    [[unroll]] for (int a = 0; a < TP; a++)
        [[unroll]] for (int q = 0; q < TN / 4; q++) {
            uint pp = p0 + a, n = n0 + 4 * q;
            hs[a][q] = (p.flags & HAS_INIT) != 0u && pp < p.P ? ldf(hin, so + pp * p.N + n, nvalid(n, p.N)) : vec4(0.0);
        }
    uint gidx = (bg * p.H + h) * p.Lp; // dtp and G of this (b, h)
    for (uint cl = 0; cl < p.S; cl++) {
        uint tc = cl * p.Q, c = p.c0 + cl;
        uint wo = (((bl * p.H + h) * p.S + cl) * p.P) * p.N;
        [[unroll]] for (int a = 0; a < TP; a++)
            [[unroll]] for (int q = 0; q < TN / 4; q++) {
                uint pp = p0 + a, n = n0 + 4 * q;
                if (live && pp < p.P) stf(hst, wo + pp * p.N + n, hs[a][q], nvalid(n, p.N));
            }
        uint nj = min(p.Q, p.tokens - tc);
        float gl = f1(wG, gidx + c * p.Q + p.Q - 1);
        float decay = exp(gl);
        [[unroll]] for (int a = 0; a < TP; a++) [[unroll]] for (int q = 0; q < TN / 4; q++) hs[a][q] *= decay;
        for (uint j = 0; j < nj; j += 4) {
            // Four steps at a time: their rows of x (scaled by the decay to the chunk's end and
            // dtp; steps past the chunk's tokens weigh 0) and of B, then 4 products per
            // accumulator.
            vec4 gj = f4(wG, (gidx + c * p.Q + j) / 4), dj = f4(wdtp, (gidx + c * p.Q + j) / 4);
            vec4 xv[4][TP / 4], bv[4][TN / 4];
            if (COOP) {
                // Lane l loads the 4-vectors m = l + 8r of the block's 4 × TP weighted x values.
                vec4 xs[TP];
                [[unroll]] for (int r = 0; r < TP / 8; r++) {
                    uint m = gl_LocalInvocationID.x + 8u * uint(r), k = m / uint(TP / 4), q = m % uint(TP / 4);
                    float w = j + k < nj ? exp(gl - gj[k]) * dj[k] : 0.0;
                    uint row = p.tokStride * bl + tc + min(j + k, nj - 1u);
                    vec4 v = w * ldv(x, p.xbase + (row * p.H + h) * p.P + p0 + 4 * q, nvalid(p0 + 4 * q, p.P));
                    BCAST8(xs, 8 * r, v)
                }
                [[unroll]] for (int k = 0; k < 4; k++)
                    [[unroll]] for (int q = 0; q < TP / 4; q++) xv[k][q] = xs[k * (TP / 4) + q];
            } else [[unroll]] for (int k = 0; k < 4; k++) {
                float w = j + k < nj ? exp(gl - gj[k]) * dj[k] : 0.0;
                uint row = p.tokStride * bl + tc + min(j + k, nj - 1u);
                [[unroll]] for (int q = 0; q < TP / 4; q++)
                    xv[k][q] = w * ldv(x, p.xbase + (row * p.H + h) * p.P + p0 + 4 * q, nvalid(p0 + 4 * q, p.P));
            }
            [[unroll]] for (int k = 0; k < 4; k++) {
                uint row = p.tokStride * bl + tc + min(j + k, nj - 1u);
                [[unroll]] for (int q = 0; q < TN / 4; q++)
                    bv[k][q] = ldv(bm, p.bbase + (row * p.G + g) * p.N + n0 + 4 * q, nvalid(n0 + 4 * q, p.N));
            }
            [[unroll]] for (int a = 0; a < TP; a++)
                [[unroll]] for (int q = 0; q < TN / 4; q++)
                    hs[a][q] += xv[0][a / 4][a % 4] * bv[0][q] + xv[1][a / 4][a % 4] * bv[1][q]
                              + xv[2][a / 4][a % 4] * bv[2][q] + xv[3][a / 4][a % 4] * bv[3][q];
        }
    }
    [[unroll]] for (int a = 0; a < TP; a++)
        [[unroll]] for (int q = 0; q < TN / 4; q++) {
            uint pp = p0 + a, n = n0 + 4 * q;
            if (live && pp < p.P) stf(hout, so + pp * p.N + n, hs[a][q], nvalid(n, p.N));
        }
}
