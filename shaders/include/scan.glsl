// Mamba-1 selective scan (S6), included by scan.comp (float32 activations) and scan_f16.comp.
//
// Per row r = b*D + d (a channel of a batch), with state x (N values, float32):
//   dt_t = softplus(delta_t + bias_d) (or without softplus),   g = d / (D/G)
//   x_t  = exp(dt_t A[d,:]) ⊙ x_{t-1} + dt_t u_t B[b,g,:,t]
//   y_t  = C[b,g,:,t] · x_t + D_d u_t;   out_t = y_t * silu(z_t)
// u, delta, z, out are [rows, L] (activation dtype, bound through windows with element base
// p.base), B and C [B, G, N, L]; A [D, N], Dskip, bias [D], init and last [B*D, N] are float32.
//
// Work split. A lane owns DT consecutive channels of one group (so that each B and C value it
// loads serves DT channels) and, inside a cluster of TL consecutive lanes (within one subgroup),
// K consecutive steps of each block of TL*K steps: the cluster is parallel over time. Blocks are
// walked in order; the state entering a block (the carry) lives in shared memory. For each group
// of NV state indices, a lane reduces its K steps to the affine pair (a, b) of x -> a x + b, the
// cluster scans the pairs with (a0, b0) ∘ (a1, b1) = (a1 a0, a1 b0 + b1) by subgroup shuffles,
// and every lane applies its prefix; the last lane's total is the next carry. TL = 1 is the
// plain sequential walk with no shuffles. Steps past L are the identity pair (dt = 0).
// Everything reads init before anything writes last, so the two may be the same memory.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_shuffle_relative : require
#include "grid.glsl"
#include "math.glsl"
#include "ssm_io.glsl"
// A 1-D workgroup of TL*CL lanes (CPU devices vectorise along x only): lane i works on channel
// group i / TL, time slot i % TL.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TL = 1;      // lanes per channel group along time (power of two)
layout(constant_id = 2) const int K = 8;        // steps per lane per block, a multiple of 4
layout(constant_id = 3) const bool VEC = false; // L and p.base multiples of 4: vec4 accesses along time
layout(constant_id = 4) const int NCAP = 16;    // N rounded up to a multiple of NV
layout(constant_id = 5) const int DT = 1;       // channels per lane (DT divides D/G)
layout(constant_id = 6) const int NV = 1;       // state indices per step of the n loop (4: N % 4 == 0)
const uint CL = gl_WorkGroupSize.x / TL;
const float LOG2E = 1.4426950408889634;

ACT_IN(0, u)
ACT_IN(1, dl)
layout(std430, binding = 2) readonly buffer AB { float Am[]; };
layout(std430, binding = 2) readonly buffer AB4 { vec4 Am4[]; };
ACT_IN(3, bm)
ACT_IN(4, cm)
layout(std430, binding = 5) readonly buffer DB { float Dsk[]; };
ACT_IN(6, z)
layout(std430, binding = 7) readonly buffer BB { float dbias[]; };
layout(std430, binding = 8) readonly buffer IB { float init[]; };
layout(std430, binding = 8) readonly buffer IB4 { vec4 init4[]; };
ACT_OUT(9, o)
layout(std430, binding = 10) writeonly buffer LB { float last[]; };
layout(std430, binding = 10) writeonly buffer LB4 { vec4 last4[]; };
// rows: channels (rows) in this dispatch, a multiple of DT; row0: the global row of the first.
layout(push_constant) uniform P { uint rows, row0, D, L, N, dPerG, G, flags, base; } p;
const uint HAS_D = 1u, HAS_Z = 2u, HAS_BIAS = 4u, SOFTPLUS = 8u, HAS_INIT = 16u, WRITE_LAST = 32u;

shared vec4 carry[CL * DT * NCAP / 4];

// The carry of channel i of this lane's group, state n (n a multiple of NV for NV = 4).
#define CIDX(i, n) ((ly * DT + (i)) * NCAP + (n))

void main() {
    const uint lx = gl_LocalInvocationID.x % TL, ly = gl_LocalInvocationID.x / TL;
    const uint gloc = linear_group() * CL + ly; // this lane's channel group in the dispatch
    const bool live = gloc * DT < p.rows;
    const uint r0 = min(gloc * DT, p.rows - DT); // first row of the group (dead lanes redo the last)
    const uint R0 = p.row0 + r0, b = R0 / p.D, d0 = R0 % p.D;
    const uint L = p.L, N = p.N, flags = p.flags;
    const uint xrow = p.base + r0 * L;
    const uint bcrow = (b * p.G + d0 / p.dPerG) * N * L;
    float dskip[DT], bias[DT];
    [[unroll]] for (int i = 0; i < DT; i++) {
        dskip[i] = (flags & HAS_D) != 0u ? Dsk[d0 + i] : 0.0;
        bias[i] = (flags & HAS_BIAS) != 0u ? dbias[d0 + i] : 0.0;
    }

    // The carries start as init (vec4 at a time when N % 4 == 0) or zero.
    [[unroll]] for (int i = 0; i < DT; i++) {
        if (NV == 4) {
            for (uint n = 4 * lx; n < N; n += 4 * TL)
                carry[CIDX(i, n) / 4] = (flags & HAS_INIT) != 0u ? init4[((R0 + i) * N + n) / 4] : vec4(0.0);
        } else {
            for (uint n = lx; n < N; n += TL) {
                uint c = CIDX(i, n);
                carry[c / 4][c % 4] = (flags & HAS_INIT) != 0u ? init[(R0 + i) * N + n] : 0.0;
            }
        }
    }
    if (TL > 1) subgroupBarrier();

    for (uint blk = 0; blk < L; blk += TL * K) {
        const uint t0 = TL == 1 ? blk : blk + lx * K;
        float dt[DT][K], du[DT][K], y[DT][K];
        [[unroll]] for (int i = 0; i < DT; i++) {
            const uint xi = xrow + i * L + t0;
            if (VEC) {
                [[unroll]] for (int q = 0; q < K / 4; q++) {
                    bool in_ = t0 + 4 * q < L;
                    vec4 dv = in_ ? ld4(dl, xi / 4 + q) : vec4(0.0);
                    vec4 uv = in_ ? ld4(u, xi / 4 + q) : vec4(0.0);
                    [[unroll]] for (int c = 0; c < 4; c++) { dt[i][4 * q + c] = dv[c]; du[i][4 * q + c] = uv[c]; }
                }
            } else {
                [[unroll]] for (int j = 0; j < K; j++) {
                    bool in_ = t0 + j < L;
                    dt[i][j] = in_ ? ld1(dl, xi + j) : 0.0;
                    du[i][j] = in_ ? ld1(u, xi + j) : 0.0;
                }
            }
            [[unroll]] for (int j = 0; j < K; j++) {
                float v = dt[i][j] + bias[i];
                if ((flags & SOFTPLUS) != 0u) v = softplus(v);
                dt[i][j] = t0 + j < L ? v : 0.0; // steps past L: the identity pair
                y[i][j] = dskip[i] * du[i][j];
                du[i][j] *= dt[i][j];
            }
        }

        for (uint n = 0; n < N; n += NV) {
            float a2[DT][NV], bv[NV][K], cv[NV][K], c0[DT][NV];
            [[unroll]] for (int i = 0; i < DT; i++) {
                if (NV == 4) {
                    vec4 av = Am4[((d0 + i) * N + n) / 4] * LOG2E;
                    vec4 cc = carry[CIDX(i, n) / 4];
                    [[unroll]] for (int m = 0; m < NV; m++) { a2[i][m] = av[m]; c0[i][m] = cc[m]; }
                } else {
                    [[unroll]] for (int m = 0; m < NV; m++) {
                        a2[i][m] = Am[(d0 + i) * N + n + m] * LOG2E;
                        uint c = CIDX(i, n + m);
                        c0[i][m] = carry[c / 4][c % 4];
                    }
                }
            }
            [[unroll]] for (int m = 0; m < NV; m++) {
                const uint bc = bcrow + (n + m) * L + t0;
                if (VEC) {
                    [[unroll]] for (int q = 0; q < K / 4; q++) {
                        bool in_ = t0 + 4 * q < L;
                        vec4 b4 = in_ ? ld4(bm, bc / 4 + q) : vec4(0.0);
                        vec4 c4 = in_ ? ld4(cm, bc / 4 + q) : vec4(0.0);
                        [[unroll]] for (int c = 0; c < 4; c++) { bv[m][4 * q + c] = b4[c]; cv[m][4 * q + c] = c4[c]; }
                    }
                } else {
                    [[unroll]] for (int j = 0; j < K; j++) {
                        bool in_ = t0 + j < L;
                        bv[m][j] = in_ ? ld1(bm, bc + j) : 0.0;
                        cv[m][j] = in_ ? ld1(cm, bc + j) : 0.0;
                    }
                }
            }
            float xe[DT][NV]; // the state after this block
            [[unroll]] for (int i = 0; i < DT; i++) {
                [[unroll]] for (int m = 0; m < NV; m++) {
                    if (TL == 1) {
                        float x = c0[i][m];
                        [[unroll]] for (int j = 0; j < K; j++) {
                            x = exp2(dt[i][j] * a2[i][m]) * x + du[i][j] * bv[m][j];
                            y[i][j] += cv[m][j] * x;
                        }
                        xe[i][m] = x;
                    } else {
                        // This lane's K steps as one pair (a, bb); the state after step j is
                        // a_j * x_in + bb_j, so y gains C_j bb_j now and C_j a_j x_in below.
                        float a = 1.0, bb = 0.0, ca[K];
                        [[unroll]] for (int j = 0; j < K; j++) {
                            float e = exp2(dt[i][j] * a2[i][m]);
                            bb = e * bb + du[i][j] * bv[m][j];
                            a *= e;
                            y[i][j] += cv[m][j] * bb;
                            ca[j] = cv[m][j] * a;
                        }
                        // Inclusive scan of the pairs over the cluster's lanes (Hillis-Steele).
                        [[unroll]] for (uint off = 1; off < TL; off *= 2) {
                            float pa = subgroupShuffleUp(a, off), pb = subgroupShuffleUp(bb, off);
                            if (lx >= off) {
                                bb = a * pb + bb;
                                a *= pa;
                            }
                        }
                        float ea = subgroupShuffleUp(a, 1), eb = subgroupShuffleUp(bb, 1);
                        float xin = lx == 0 ? c0[i][m] : ea * c0[i][m] + eb; // state entering this lane's steps
                        [[unroll]] for (int j = 0; j < K; j++) y[i][j] += ca[j] * xin;
                        xe[i][m] = subgroupShuffle(a * c0[i][m] + bb, gl_SubgroupInvocationID | (TL - 1u));
                    }
                }
            }
            if (TL > 1) subgroupBarrier(); // every lane has read the carries
            if (lx == TL - 1) {
                [[unroll]] for (int i = 0; i < DT; i++) {
                    if (NV == 4) {
                        vec4 v = vec4(0.0);
                        [[unroll]] for (int m = 0; m < NV; m++) v[m] = xe[i][m];
                        carry[CIDX(i, n) / 4] = v;
                    } else {
                        [[unroll]] for (int m = 0; m < NV; m++) {
                            uint c = CIDX(i, n + m);
                            carry[c / 4][c % 4] = xe[i][m];
                        }
                    }
                }
            }
        }
        if (TL > 1) subgroupBarrier(); // the carries are written before the next block reads them

        [[unroll]] for (int i = 0; i < DT; i++) {
            const uint xi = xrow + i * L + t0;
            if ((flags & HAS_Z) != 0u) {
                if (VEC) {
                    [[unroll]] for (int q = 0; q < K / 4; q++) {
                        vec4 zv = t0 + 4 * q < L ? ld4(z, xi / 4 + q) : vec4(0.0);
                        [[unroll]] for (int c = 0; c < 4; c++) y[i][4 * q + c] *= silu(zv[c]);
                    }
                } else {
                    [[unroll]] for (int j = 0; j < K; j++)
                        if (t0 + j < L) y[i][j] *= silu(ld1(z, xi + j));
                }
            }
            if (live) {
                if (VEC) {
                    [[unroll]] for (int q = 0; q < K / 4; q++)
                        if (t0 + 4 * q < L) st4(o, xi / 4 + q, vec4(y[i][4 * q], y[i][4 * q + 1], y[i][4 * q + 2], y[i][4 * q + 3]));
                } else {
                    [[unroll]] for (int j = 0; j < K; j++)
                        if (t0 + j < L) st1(o, xi + j, y[i][j]);
                }
            }
        }
    }
    if (live && (flags & WRITE_LAST) != 0u) {
        [[unroll]] for (int i = 0; i < DT; i++) {
            if (NV == 4) {
                for (uint n = 4 * lx; n < N; n += 4 * TL) last4[((R0 + i) * N + n) / 4] = carry[CIDX(i, n) / 4];
            } else {
                for (uint n = lx; n < N; n += TL) {
                    uint c = CIDX(i, n);
                    last[(R0 + i) * N + n] = carry[c / 4][c % 4];
                }
            }
        }
    }
}
