// Delta rule, recurrent form (DeltaNet / gated DeltaNet; docs/design.md §6), included by
// delta_rec.comp and delta_rec_f16.comp. One invocation owns columns vt*TV .. vt*TV+TV-1 of one
// sequence's state for one head (all K rows, padded to the spec constant KP): each column of the
// state evolves independently given k_t, beta_t and g_t, so no invocation talks to another.
// Per token, in two passes over the register tile:
//   S' = exp(g_t) S                       (pass 1, with kS = S'^T k_t, |k_t|^2, |q_t|^2)
//   u  = beta_t (v_t - kS / |k_t|)         (|k_t| = 1 without L2)
//   S  = S' + (k_t / |k_t|) u^T;  o_t = S^T q_t * scale / |q_t|   (pass 2)
// reading and writing state [N, H, K, V] (float32) in place. beta and g are [B, T, H].
// Sequences are cu[n] .. cu[n+1] (VARLEN; offsets clamped into [0, T]) or the T rows of batch n.
//
//
// STREAM (decode: a few tokens) keeps no register tile: per token, pass 1 reads the lane's columns
// of the state from memory for kS, pass 2 reads them again, updates and writes them. The shifting
// tile load and store (state_tile.glsl) cost far more than a token's arithmetic when there are few
// tokens to amortise them over: on lavapipe at H=32 K=V=128 one token took 7 ms in the tile form,
// 0.8-1.5 ms streamed (a private array indexed at run time instead of the second read: 1.9-2.1 ms;
// the plain unrolled tile of 4 columns: 2.1 ms).
#include "gla_io.glsl"
#include "grid.glsl"
#include "state_tile.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int KP = 64; // K rounded up to a multiple of 4
layout(constant_id = 2) const int TV = 16;
layout(constant_id = 3) const bool K4 = false; // K % 4 == 0
layout(constant_id = 4) const bool V4 = false; // V % 4 == 0
layout(constant_id = 5) const bool GATED = false; // g given
layout(constant_id = 6) const bool L2 = false; // normalise q and k in-kernel
layout(constant_id = 7) const bool STATE_SHIFT = true; // state tile moved by shifting (lavapipe); see state_tile.glsl
layout(constant_id = 8) const bool STREAM = false; // no register tile: the state streamed from memory per token (decode)
const int KP4 = KP / 4, TV4 = TV / 4;

layout(std430, binding = 0) readonly buffer Cu { int cu[]; };
#ifdef DELTA_TEXEL
// Texel variant (delta_rec_t*.comp, CPU devices): q, k, v, beta, g and the state are read through
// uniform texel buffers of RGBA32UI texels (4 floats or 8 halves; on lavapipe a texel fetch is a
// gather where a storage-buffer load is a loop over the lanes); the state is written through
// binding 7, the same tensor as texel binding 8 (each invocation reads its own columns before
// writing them). Requires K % 4 == 0 and V % 4 == 0 (K4 and V4), so that every 4-element read is
// within one texel (half a texel of halves).
layout(binding = 1) uniform usamplerBuffer q_t;
layout(binding = 2) uniform usamplerBuffer k_t;
layout(binding = 3) uniform usamplerBuffer v_t;
layout(binding = 4) uniform usamplerBuffer beta_t;
layout(binding = 5) uniform usamplerBuffer g_t;
SEQ_BUF(6, o, writeonly)
F32_BUF(7, st, writeonly)
layout(binding = 8) uniform usamplerBuffer st_t;
#ifdef GLA_F16
#define TEXEL_HALF 1
#endif
#include "texel_io.glsl"
#define LD_BETA(e) TX1(beta_t, e)
#define LD_G(e) TX1(g_t, e)
#else
SEQ_BUF(1, q, readonly)
SEQ_BUF(2, k, readonly)
SEQ_BUF(3, v, readonly)
SEQ_BUF(4, beta, readonly)
SEQ_BUF(5, g, readonly)
SEQ_BUF(6, o, writeonly)
F32_BUF(7, st, )
#define LD_BETA(e) float(beta1[e])
#define LD_G(e) float(g1[e])
#endif
layout(push_constant) uniform P { int T, H, K, V, N, varlen, nVT; float scale; } p;
#define LANE_TOKENS
#include "lane.glsl"
#ifdef DELTA_TEXEL
TX_LOAD(q, TX4)
TX_LOAD(k, TX4)
TX_LOAD(v, TX4)
TX_LOAD(st, TXF4)
#else
SEQ_LOAD(q, K4)
SEQ_LOAD(k, K4)
SEQ_LOAD(v, V4)
F32_LOAD(st, V4)
#endif
SEQ_STORE(o, V4)
F32_STORE(st, V4)

void main() {
    const int H = p.H, K = p.K, V = p.V;
    int vt, kt, h, n, a, b;
    if (!lane_tile(1, vt, kt, h, n)) return;
    lane_tokens(n, a, b);
    int v0 = vt * TV;

    if (STREAM) {
        // o = S_t^T q = exp(g) S^T q + (k.q / |k|) u, so pass 1 gathers S^T k and S^T q and pass
        // 2 reads q no more.
        uint sb = uint(n * H + h) * uint(K) * uint(V);
        for (int t = a; t < b; t++) {
            uint eh = uint(t * H + h);
            uint ek = eh * uint(K), ev = eh * uint(V);
            float dec = GATED ? exp(LD_G(eh)) : 1.0;
            float bt = LD_BETA(eh);
            vec4 kS[TV4], qS[TV4], u[TV4];
            [[unroll]] for (int j = 0; j < TV4; j++) {
                kS[j] = vec4(0.0);
                qS[j] = vec4(0.0);
            }
            float kk = 0.0, qq = 0.0, kq = 0.0;
            [[dont_unroll]] for (int a4 = 0; a4 < KP4; a4++) {
                vec4 kr = ld_k(ek, 4 * a4, K);
                vec4 qr = ld_q(ek, 4 * a4, K);
                if (L2) {
                    kk += dot(kr, kr);
                    qq += dot(qr, qr);
                }
                kq += dot(kr, qr);
                [[unroll]] for (int c = 0; c < 4; c++) {
                    uint rb = sb + uint(K4 ? 4 * a4 + c : min(4 * a4 + c, K - 1)) * uint(V);
                    [[unroll]] for (int j = 0; j < TV4; j++) {
                        vec4 s = ld_st(rb, v0 + 4 * j, V);
                        kS[j] += kr[c] * s;
                        qS[j] += qr[c] * s;
                    }
                }
            }
            float rk = L2 ? 1.0 / sqrt(kk + 1e-6) : 1.0;
            float rq = L2 ? p.scale / sqrt(qq + 1e-6) : p.scale;
            [[unroll]] for (int j = 0; j < TV4; j++) {
                u[j] = bt * (ld_v(ev, v0 + 4 * j, V) - kS[j] * (dec * rk));
                st_o(ev, v0 + 4 * j, V, (dec * qS[j] + (kq * rk) * u[j]) * rq);
            }
            [[dont_unroll]] for (int a4 = 0; a4 < KP4; a4++) {
                vec4 kr = ld_k(ek, 4 * a4, K) * rk;
                [[unroll]] for (int c = 0; c < 4; c++) {
                    int d = 4 * a4 + c;
                    uint rb = sb + uint(K4 ? d : min(d, K - 1)) * uint(V);
                    [[unroll]] for (int j = 0; j < TV4; j++) {
                        vec4 s = ld_st(rb, v0 + 4 * j, V) * dec + kr[c] * u[j];
                        if (K4 || d < K) st_st(rb, v0 + 4 * j, V, s); // K4: KP == K
                    }
                }
            }
        }
        return;
    }
    vec4 S[KP][TV4];
    uint sbase = uint(n * H + h) * uint(K) * uint(V);
    STATE_TILE_LOAD(S, ld_st, sbase, true);

    for (int t = a; t < b; t++) {
        uint eh = uint(t * H + h);
        uint ek = eh * uint(K), ev = eh * uint(V);
        float dec = GATED ? exp(LD_G(eh)) : 1.0;
        float bt = LD_BETA(eh);
        vec4 kS[TV4], acc[TV4];
        [[unroll]] for (int j = 0; j < TV4; j++) {
            kS[j] = vec4(0.0);
            acc[j] = vec4(0.0);
        }
        float kk = 0.0, qq = 0.0;
        [[unroll]] for (int a4 = 0; a4 < KP4; a4++) {
            vec4 kr = ld_k(ek, 4 * a4, K);
            if (L2) {
                vec4 qr = ld_q(ek, 4 * a4, K);
                kk += dot(kr, kr);
                qq += dot(qr, qr);
            }
            [[unroll]] for (int c = 0; c < 4; c++)
                [[unroll]] for (int j = 0; j < TV4; j++) {
                    vec4 s = GATED ? S[4 * a4 + c][j] * dec : S[4 * a4 + c][j];
                    S[4 * a4 + c][j] = s;
                    kS[j] += kr[c] * s;
                }
        }
        float rk = L2 ? 1.0 / sqrt(kk + 1e-6) : 1.0;
        float rq = L2 ? p.scale / sqrt(qq + 1e-6) : p.scale;
        vec4 u[TV4];
        [[unroll]] for (int j = 0; j < TV4; j++) u[j] = bt * (ld_v(ev, v0 + 4 * j, V) - kS[j] * rk);
        [[unroll]] for (int a4 = 0; a4 < KP4; a4++) {
            vec4 kr = ld_k(ek, 4 * a4, K) * rk;
            vec4 qr = ld_q(ek, 4 * a4, K);
            [[unroll]] for (int c = 0; c < 4; c++)
                [[unroll]] for (int j = 0; j < TV4; j++) {
                    vec4 s = S[4 * a4 + c][j] + kr[c] * u[j];
                    S[4 * a4 + c][j] = s;
                    acc[j] += qr[c] * s;
                }
        }
        [[unroll]] for (int j = 0; j < TV4; j++) st_o(ev, v0 + 4 * j, V, acc[j] * rq);
    }

    STATE_TILE_STORE(S, st_st, sbase);
}
