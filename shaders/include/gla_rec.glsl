// GLA recurrent form (decode), included by gla_rec.comp and gla_rec_f16.comp. One invocation
// owns columns vt*TV .. vt*TV+TV-1 of one sequence's state for one head (all K rows, padded to
// the spec constant KP) and steps through the sequence's tokens:
//   S = diag(exp(g_t)) S + k_t v_t^T;   o_t = S^T (scale * q_t)
// reading and writing state [N, H, K, V] (float32) in place. STREAM (decode: a few tokens) keeps
// no register tile and streams the state through memory per token, as delta_rec.glsl does. Sequences are cu[n] .. cu[n+1]
// (VARLEN; offsets clamped into [0, T]) or the T rows of batch n.
#include "gla_io.glsl"
#include "grid.glsl"
#include "state_tile.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int KP = 64; // K rounded up to a multiple of 4
layout(constant_id = 2) const int TV = 16;
layout(constant_id = 3) const bool K4 = false; // K % 4 == 0
layout(constant_id = 4) const bool V4 = false; // V % 4 == 0
layout(constant_id = 5) const bool STATE_SHIFT = true; // state tile moved by shifting (lavapipe); see state_tile.glsl
layout(constant_id = 6) const bool STREAM = false; // no register tile: the state streamed from memory per token (decode)
const int KP4 = KP / 4, TV4 = TV / 4;

layout(std430, binding = 0) readonly buffer Cu { int cu[]; };
#ifdef GLA_TEXEL
// Texel variant (gla_rec_t*.comp, CPU devices, one token per sequence): q, k, v, g and the state
// are read through uniform texel buffers of RGBA32UI texels (4 floats or 8 halves; on lavapipe a
// texel fetch is a gather where a storage-buffer load is a loop over the lanes); the state is
// written through binding 6, the same tensor as texel binding 7 (each invocation reads its own
// columns before writing them). Requires K % 4 == 0 and V % 4 == 0 (K4 and V4).
layout(binding = 1) uniform usamplerBuffer q_t;
layout(binding = 2) uniform usamplerBuffer k_t;
layout(binding = 3) uniform usamplerBuffer v_t;
layout(binding = 4) uniform usamplerBuffer g_t;
SEQ_BUF(5, o, writeonly)
F32_BUF(6, st, writeonly)
layout(binding = 7) uniform usamplerBuffer st_t;
#ifdef GLA_F16
#define TEXEL_HALF 1
#endif
#include "texel_io.glsl"
TX_LOAD(q, TX4)
TX_LOAD(k, TX4)
TX_LOAD(v, TX4)
TX_LOAD(g, TX4)
TX_LOAD(st, TXF4)
// GATE_R > 0 (GLARecurrentOptions.Gate): the gate is computed here instead of read from g,
//   g[t, h, d] = logsigmoid(W[h K + d, :] · low[t, :] + bias[h K + d]) / gdiv,
// with low [T rows, GATE_R] float32 (binding 8), W [H K, GATE_R] (binding 9, float16 when
// GATE_W_F16) and bias [H K] float32 (binding 10, when gbias); GATE_R % 4 == 0.
layout(constant_id = 7) const int GATE_R = 0;
layout(constant_id = 8) const bool GATE_W_F16 = false;
layout(binding = 8) uniform usamplerBuffer glow_t;
layout(binding = 9) uniform usamplerBuffer gw_t;
layout(binding = 10) uniform usamplerBuffer gb_t;
#include "math.glsl"
#else
SEQ_BUF(1, q, readonly)
SEQ_BUF(2, k, readonly)
SEQ_BUF(3, v, readonly)
SEQ_BUF(4, g, readonly)
SEQ_BUF(5, o, writeonly)
F32_BUF(6, st, )
SEQ_LOAD(q, K4)
SEQ_LOAD(k, K4)
SEQ_LOAD(v, V4)
SEQ_LOAD(g, K4)
F32_LOAD(st, V4)
#endif
#ifdef GLA_TEXEL
layout(push_constant) uniform P { int T, H, K, V, N, varlen, nVT; float scale; float gdiv; uint gbias; } p;
// gate4(t, h, d): the computed gate of rows d .. d+3 of head h for token row t (GATE_R > 0).
vec4 gate4(int t, int h, int d) {
    vec4 g;
    uint lb = uint(t) * uint(GATE_R);
    [[unroll]] for (int c = 0; c < 4; c++) {
        uint row = uint(h * p.K + d + c), wb = row * uint(GATE_R);
        float a = p.gbias != 0u ? TXF1(gb_t, row) : 0.0;
        for (int r = 0; r < GATE_R; r += 4) {
            uint e = wb + uint(r);
            vec4 w = GATE_W_F16 ? txh4_(texelFetch(gw_t, int(e >> 3)), e) : TXF4(gw_t, e);
            a += dot(w, TXF4(glow_t, lb + uint(r)));
        }
        g[c] = (min(a, 0.0) - log1p_pos(exp(-abs(a)))) / p.gdiv;
    }
    return g;
}
#else
layout(push_constant) uniform P { int T, H, K, V, N, varlen, nVT; float scale; } p;
#endif
#define LANE_TOKENS
#include "lane.glsl"
SEQ_STORE(o, V4)
F32_STORE(st, V4)

void main() {
    const int H = p.H, K = p.K, V = p.V;
    int vt, kt, h, n, a, b;
    if (!lane_tile(1, vt, kt, h, n)) return;
    lane_tokens(n, a, b);
    int v0 = vt * TV;

    if (STREAM) {
        // Per token, one pass over the K rows of the lane's columns: read, decay and update, write.
        uint sb = uint(n * H + h) * uint(K) * uint(V);
        for (int t = a; t < b; t++) {
            uint ek = uint(t * H + h) * uint(K), ev = uint(t * H + h) * uint(V);
            vec4 vr[TV4], acc[TV4];
            [[unroll]] for (int j = 0; j < TV4; j++) {
                vr[j] = ld_v(ev, v0 + 4 * j, V);
                acc[j] = vec4(0.0);
            }
            [[dont_unroll]] for (int a4 = 0; a4 < KP4; a4++) {
#ifdef GLA_TEXEL
                vec4 dec = exp(GATE_R > 0 ? gate4(t, h, 4 * a4) : ld_g(ek, 4 * a4, K));
#else
                vec4 dec = exp(ld_g(ek, 4 * a4, K));
#endif
                vec4 kr = ld_k(ek, 4 * a4, K);
                vec4 qr = ld_q(ek, 4 * a4, K);
                [[unroll]] for (int c = 0; c < 4; c++) {
                    int d = 4 * a4 + c;
                    uint rb = sb + uint(K4 ? d : min(d, K - 1)) * uint(V);
                    [[unroll]] for (int j = 0; j < TV4; j++) {
                        vec4 s = ld_st(rb, v0 + 4 * j, V) * dec[c] + kr[c] * vr[j];
                        acc[j] += qr[c] * s; // q is 0 past K (padded rows add nothing)
                        if (K4 || d < K) st_st(rb, v0 + 4 * j, V, s); // K4: KP == K
                    }
                }
            }
            [[unroll]] for (int j = 0; j < TV4; j++) st_o(ev, v0 + 4 * j, V, acc[j] * p.scale);
        }
        return;
    }
    vec4 S[KP][TV4];
    uint sbase = uint(n * H + h) * uint(K) * uint(V);
    STATE_TILE_LOAD(S, ld_st, sbase, true);

    for (int t = a; t < b; t++) {
        uint ek = uint(t * H + h) * uint(K), ev = uint(t * H + h) * uint(V);
        vec4 vr[TV4], acc[TV4];
        [[unroll]] for (int j = 0; j < TV4; j++) {
            vr[j] = ld_v(ev, v0 + 4 * j, V);
            acc[j] = vec4(0.0);
        }
        [[unroll]] for (int a4 = 0; a4 < KP4; a4++) {
            vec4 dec = exp(ld_g(ek, 4 * a4, K));
            vec4 kr = ld_k(ek, 4 * a4, K);
            vec4 qr = ld_q(ek, 4 * a4, K);
            [[unroll]] for (int c = 0; c < 4; c++)
                [[unroll]] for (int j = 0; j < TV4; j++) {
                    vec4 s = S[4 * a4 + c][j] * dec[c] + kr[c] * vr[j];
                    S[4 * a4 + c][j] = s;
                    acc[j] += qr[c] * s;
                }
        }
        [[unroll]] for (int j = 0; j < TV4; j++) st_o(ev, v0 + 4 * j, V, acc[j] * p.scale);
    }

    STATE_TILE_STORE(S, st_st, sbase);
}
