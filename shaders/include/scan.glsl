// Mamba-1 selective scan (S6), included by scan.comp (float32 activations) and scan_f16.comp.
//
// Per row r = b*D + d (a channel of a batch), with state x (N values, float32):
//   dt_t = softplus(delta_t + bias_d) (or without softplus),   g = d / (D/G)
//   x_t  = exp(dt_t A[d,:]) ⊙ x_{t-1} + dt_t u_t B[b,g,:,t]
//   y_t  = C[b,g,:,t] · x_t + D_d u_t;   out_t = y_t * silu(z_t)
// u, delta, z, out are [rows, L] (activation dtype, bound through windows with element base
// p.base), B and C [B, G, N, L]; A [D, N], Dskip, bias [D], init and last [B*D, N] are float32.
//
// Parallel over rows (CL channels per workgroup, gl_LocalInvocationID.y) and over time: the TL
// lanes of a channel (gl_LocalInvocationID.x, a cluster inside one subgroup) split each block of
// TL*K steps, K consecutive steps per lane. For every state index n a lane reduces its K steps
// to the affine pair (a, b) of x -> a x + b, the cluster scans the pairs with
// (a0, b0) ∘ (a1, b1) = (a1 a0, a1 b0 + b1) by subgroup shuffles, and the carry (the state
// entering the block) is passed from block to block in shared memory. TL = 1 is the plain
// sequential walk (one lane per channel). Steps past L are the identity pair (dt = 0).
// Everything reads init before anything writes last, so the two may be the same memory.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_shuffle_relative : require
#include "grid.glsl"
#include "math.glsl"
#include "ssm_io.glsl"
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const int K = 8;          // steps per lane per block, a multiple of 4
layout(constant_id = 3) const bool VEC = false;   // L and p.base multiples of 4: vec4 accesses
layout(constant_id = 4) const int NCAP = 16;      // N rounded up (size of the carry per channel)
const uint TL = gl_WorkGroupSize.x, CL = gl_WorkGroupSize.y;
const float LOG2E = 1.4426950408889634;

ACT_IN(0, u)
ACT_IN(1, dl)
layout(std430, binding = 2) readonly buffer AB { float Am[]; };
ACT_IN(3, bm)
ACT_IN(4, cm)
layout(std430, binding = 5) readonly buffer DB { float Dsk[]; };
ACT_IN(6, z)
layout(std430, binding = 7) readonly buffer BB { float dbias[]; };
layout(std430, binding = 8) readonly buffer IB { float init[]; };
ACT_OUT(9, o)
layout(std430, binding = 10) writeonly buffer LB { float last[]; };
layout(push_constant) uniform P { uint rows, row0, D, L, N, dPerG, G, flags, base; } p;
const uint HAS_D = 1u, HAS_Z = 2u, HAS_BIAS = 4u, SOFTPLUS = 8u, HAS_INIT = 16u, WRITE_LAST = 32u;

shared float carry[CL * NCAP];

void main() {
    const uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y;
    const uint rloc = linear_group() * CL + ly;
    const bool live = rloc < p.rows;
    const uint r = min(rloc, p.rows - 1u);
    const uint R = p.row0 + r, b = R / p.D, d = R % p.D;
    const uint L = p.L, N = p.N, flags = p.flags;
    const uint xrow = p.base + r * L;
    const uint bcrow = (b * p.G + d / p.dPerG) * N * L;
    const float dskip = (flags & HAS_D) != 0u ? Dsk[d] : 0.0;
    const float bias = (flags & HAS_BIAS) != 0u ? dbias[d] : 0.0;
    const uint cbase = ly * NCAP;

    for (uint n = lx; n < N; n += TL) carry[cbase + n] = (flags & HAS_INIT) != 0u ? init[R * N + n] : 0.0;
    if (TL > 1) subgroupBarrier();

    for (uint blk = 0; blk < L; blk += TL * K) {
        const uint t0 = blk + lx * K;
        float dt[K], du[K], y[K];
        if (VEC) {
            [[unroll]] for (int q = 0; q < K / 4; q++) {
                bool in_ = t0 + 4 * q < L;
                vec4 dv = in_ ? ld4(dl, (xrow + t0) / 4 + q) : vec4(0.0);
                vec4 uv = in_ ? ld4(u, (xrow + t0) / 4 + q) : vec4(0.0);
                [[unroll]] for (int c = 0; c < 4; c++) { dt[4 * q + c] = dv[c]; du[4 * q + c] = uv[c]; }
            }
        } else {
            [[unroll]] for (int j = 0; j < K; j++) {
                bool in_ = t0 + j < L;
                dt[j] = in_ ? ld1(dl, xrow + t0 + j) : 0.0;
                du[j] = in_ ? ld1(u, xrow + t0 + j) : 0.0;
            }
        }
        [[unroll]] for (int j = 0; j < K; j++) {
            float v = dt[j] + bias;
            if ((flags & SOFTPLUS) != 0u) v = softplus(v);
            dt[j] = t0 + j < L ? v : 0.0; // steps past L: the identity pair
            y[j] = dskip * du[j];
            du[j] *= dt[j];
        }

        for (uint n = 0; n < N; n++) {
            const float a2 = Am[d * N + n] * LOG2E;
            const uint bc = bcrow + n * L + t0;
            float bv[K], cv[K];
            if (VEC) {
                [[unroll]] for (int q = 0; q < K / 4; q++) {
                    bool in_ = t0 + 4 * q < L;
                    vec4 b4 = in_ ? ld4(bm, bc / 4 + q) : vec4(0.0);
                    vec4 c4 = in_ ? ld4(cm, bc / 4 + q) : vec4(0.0);
                    [[unroll]] for (int c = 0; c < 4; c++) { bv[4 * q + c] = b4[c]; cv[4 * q + c] = c4[c]; }
                }
            } else {
                [[unroll]] for (int j = 0; j < K; j++) {
                    bool in_ = t0 + j < L;
                    bv[j] = in_ ? ld1(bm, bc + j) : 0.0;
                    cv[j] = in_ ? ld1(cm, bc + j) : 0.0;
                }
            }
            const float c0 = carry[cbase + n];
            if (TL == 1) {
                float x = c0;
                [[unroll]] for (int j = 0; j < K; j++) {
                    x = exp2(dt[j] * a2) * x + du[j] * bv[j];
                    y[j] += cv[j] * x;
                }
                carry[cbase + n] = x;
            } else {
                // This lane's K steps as one pair (a, bb), and C_j times the pair's prefix: the
                // state after step j is a_j * x_in + bb_j.
                float a = 1.0, bb = 0.0, ca[K];
                [[unroll]] for (int j = 0; j < K; j++) {
                    float e = exp2(dt[j] * a2);
                    bb = e * bb + du[j] * bv[j];
                    a *= e;
                    y[j] += cv[j] * bb;
                    ca[j] = cv[j] * a;
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
                float xin = lx == 0 ? c0 : ea * c0 + eb; // the state entering this lane's steps
                [[unroll]] for (int j = 0; j < K; j++) y[j] += ca[j] * xin;
                float xend = subgroupShuffle(a * c0 + bb, gl_SubgroupInvocationID | (TL - 1u));
                subgroupBarrier(); // every lane has read carry[n]
                if (lx == TL - 1) carry[cbase + n] = xend;
            }
        }
        if (TL > 1) subgroupBarrier(); // the carries are written before the next block reads them

        [[unroll]] for (int j = 0; j < K; j++) {
            if ((flags & HAS_Z) != 0u && t0 + j < L) y[j] *= silu(ld1(z, xrow + t0 + j));
        }
        if (live) {
            if (VEC) {
                [[unroll]] for (int q = 0; q < K / 4; q++)
                    if (t0 + 4 * q < L) st4(o, (xrow + t0) / 4 + q, vec4(y[4 * q], y[4 * q + 1], y[4 * q + 2], y[4 * q + 3]));
            } else {
                [[unroll]] for (int j = 0; j < K; j++)
                    if (t0 + j < L) st1(o, xrow + t0 + j, y[j]);
            }
        }
    }
    if (live && (flags & WRITE_LAST) != 0u)
        for (uint n = lx; n < N; n += TL) last[R * N + n] = carry[cbase + n];
}
