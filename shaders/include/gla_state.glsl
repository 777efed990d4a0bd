// GLA chunked form, pass 2 of 3: the state entering every chunk (included by gla_state.comp and
// gla_state_f16.comp). One invocation owns a TK x TV tile of one sequence's state for one head
// and walks that sequence's chunks in order (those of the segment segA .. segB):
//   hbuf[c - segA, h] = S             (state entering chunk c, [Kh, Vh]: K and V padded to the tiles)
//   S = diag(exp(Gl)) S + sum_i (k_i * exp(Gl - G_i)) v_i^T  (Gl = G of the chunk's last row)
// Gl - G_i is a suffix sum of gates, accumulated from the chunk's end, so every exponent is <= 0
// when g <= 0 and recent tokens keep full precision. The state starts from h0 (the initial state in
// the first segment, the final state fin of the previous segment later; the host binds it) or from
// zeros (mode 2), and is written to fin. mode 0 (a later segment) skips sequences without chunks in
// the segment.
#include "gla_io.glsl"
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int TK = 16;
layout(constant_id = 2) const int TV = 64;
layout(constant_id = 3) const bool K4 = false; // K % 4 == 0
layout(constant_id = 4) const bool V4 = false; // V % 4 == 0
const int TK4 = TK / 4, TV4 = TV / 4;

layout(std430, binding = 0) readonly buffer Tab { int tab[]; };
SEQ_BUF(1, k, readonly)
SEQ_BUF(2, v, readonly)
SEQ_BUF(3, g, readonly)
F32_BUF(4, h0, readonly)
F32_BUF(5, fin, )
layout(std430, binding = 6) writeonly buffer Hb { vec4 hb4[]; };
layout(push_constant) uniform P { int H, K, V, N, segA, segB, nKT, nVT, mode; } p;
#define LANE_CHUNKS
#include "lane.glsl"
SEQ_LOAD(k, K4)
SEQ_LOAD(v, V4)
SEQ_LOAD(g, K4)
F32_LOAD(h0, V4)
F32_STORE(fin, V4)

void main() {
    const int H = p.H, K = p.K, V = p.V;
    int vt, kt, h, n, ca, cb;
    if (!lane_tile(p.nKT, vt, kt, h, n)) return;
    lane_chunks(n, ca, cb);
    if (ca >= cb && p.mode == 0) return; // no chunk of this sequence in the segment
    int k0 = kt * TK, v0 = vt * TV;

    vec4 S[TK][TV4];
    uint sbase = uint(n * H + h) * uint(K) * uint(V);
    if (p.mode == 2) {
        [[unroll]] for (int i = 0; i < TK; i++)
            [[unroll]] for (int j = 0; j < TV4; j++) S[i][j] = vec4(0.0);
    } else {
        [[dont_unroll]] for (int i = 0; i < TK; i++) { // row by row into the bottom row, shifting up
            [[unroll]] for (int r = 0; r < TK - 1; r++)
                [[unroll]] for (int j = 0; j < TV4; j++) S[r][j] = S[r + 1][j];
            uint rb = sbase + uint(min(k0 + i, K - 1)) * uint(V);
            bvec4 in_k = bvec4(k0 + i < K);
            [[unroll]] for (int j = 0; j < TV4; j++) S[TK - 1][j] = mix(vec4(0.0), ld_h0(rb, v0 + 4 * j, V), in_k);
        }
    }

    const int Kh = p.nKT * TK, Vh = p.nVT * TV;
    for (int c = ca; c < cb; c++) {
        // the state entering chunk c
        uint hbase = (uint((c - p.segA) * H + h) * uint(Kh) + uint(k0)) * uint(Vh) + uint(v0);
        // row by row, rotating the tile: TV4 store sites instead of TK*TV4 (compile time)
        [[dont_unroll]] for (int i = 0; i < TK; i++) {
            vec4 top[TV4];
            [[unroll]] for (int j = 0; j < TV4; j++) {
                hb4[(hbase + uint(i * Vh + 4 * j)) >> 2] = S[0][j];
                top[j] = S[0][j];
            }
            [[unroll]] for (int r = 0; r < TK - 1; r++)
                [[unroll]] for (int j = 0; j < TV4; j++) S[r][j] = S[r + 1][j];
            [[unroll]] for (int j = 0; j < TV4; j++) S[TK - 1][j] = top[j];
        }
        int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];
        // decay of the whole chunk
        vec4 tot[TK4];
        [[unroll]] for (int a = 0; a < TK4; a++) tot[a] = vec4(0.0);
        for (int r = 0; r < len; r++) {
            uint e = uint((row0 + r) * H + h) * uint(K);
            [[unroll]] for (int a = 0; a < TK4; a++) tot[a] += ld_g(e, k0 + 4 * a, K);
        }
        [[unroll]] for (int a = 0; a < TK4; a++) {
            vec4 dec = exp(tot[a]);
            [[unroll]] for (int c4 = 0; c4 < 4; c4++)
                [[unroll]] for (int j = 0; j < TV4; j++) S[4 * a + c4][j] *= dec[c4];
        }
        // rank-len update, newest row first so that the suffix sums stay small
        vec4 suf[TK4];
        [[unroll]] for (int a = 0; a < TK4; a++) suf[a] = vec4(0.0);
        for (int r = len - 1; r >= 0; r--) {
            uint e = uint((row0 + r) * H + h) * uint(K);
            uint ev = uint((row0 + r) * H + h) * uint(V);
            vec4 vr[TV4];
            [[unroll]] for (int j = 0; j < TV4; j++) vr[j] = ld_v(ev, v0 + 4 * j, V);
            [[unroll]] for (int a = 0; a < TK4; a++) {
                vec4 kd = ld_k(e, k0 + 4 * a, K) * exp(suf[a]);
                suf[a] += ld_g(e, k0 + 4 * a, K);
                [[unroll]] for (int c4 = 0; c4 < 4; c4++)
                    [[unroll]] for (int j = 0; j < TV4; j++) S[4 * a + c4][j] += kd[c4] * vr[j];
            }
        }
    }

    [[dont_unroll]] for (int i = 0; i < TK; i++) { // row by row from the top row, shifting up
        int d = k0 + i;
        if (d < K) {
            [[unroll]] for (int j = 0; j < TV4; j++) st_fin(sbase + uint(d) * uint(V), v0 + 4 * j, V, S[0][j]);
        }
        [[unroll]] for (int r = 0; r < TK - 1; r++)
            [[unroll]] for (int j = 0; j < TV4; j++) S[r][j] = S[r + 1][j];
    }
}
