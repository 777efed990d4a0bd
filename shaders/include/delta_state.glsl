// Delta rule chunked form (ops/delta.go), pass 5 of 6: the states entering the chunks and the
// corrected values (included by delta_state.comp). One invocation owns columns vt*TV ..
// vt*TV+TV-1 of one sequence's state for one head (all K rows, padded to the spec constant KP:
// each column evolves independently, as in delta_rec) and walks that sequence's chunks of the
// segment segA .. segB in order:
//   hbuf[c - segA, h] = S                          (state entering chunk c, [KP, Vh])
//   u[i] = u[i] - W[i] S                           (U becomes Vn = U - W S, in place)
//   S = e^{G_last} S + sum_i (k̂_i e^{G_last - G_i}) Vn[i]^T
// W and U come from gla_out (T times delta_prep's kw and vb), k̂ and G from delta_prep; scratch
// rows are counted from rowBase. The state starts from h0 (the initial state in the first segment,
// the final state fin of the previous segment later; the host binds it) or from zeros (mode 2),
// and is written to fin; mode 0 (a later segment) skips sequences without chunks in the segment.
#include "gla_io.glsl"
#include "grid.glsl"
#include "state_tile.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int KP = 64; // K rounded up to a multiple of 4
layout(constant_id = 2) const int TV = 16;
layout(constant_id = 3) const bool V4 = false; // V % 4 == 0
layout(constant_id = 4) const bool STATE_SHIFT = true; // state tile moved by shifting (lavapipe); see state_tile.glsl
const int KP4 = KP / 4, TV4 = TV / 4;

layout(std430, binding = 0) readonly buffer Tab { int tab[]; };
layout(std430, binding = 1) readonly buffer Kn { vec4 kn4[]; };
layout(std430, binding = 2) readonly buffer Wb { vec4 w4[]; };
F32_BUF(3, u, )
layout(std430, binding = 4) readonly buffer Gb { vec2 gb[]; };
F32_BUF(5, h0, readonly)
F32_BUF(6, fin, )
layout(std430, binding = 7) writeonly buffer Hb { vec4 hb4[]; };
layout(push_constant) uniform P { int H, K, V, Vh, N, segA, segB, nVT, mode, rowBase; } p;
#define LANE_CHUNKS
#include "lane.glsl"
F32_LOAD(u, V4)
F32_STORE(u, V4)
F32_LOAD(h0, V4)
F32_STORE(fin, V4)

void main() {
    const int H = p.H, K = p.K, V = p.V;
    int vt, kt, h, n, ca, cb;
    if (!lane_tile(1, vt, kt, h, n)) return;
    lane_chunks(n, ca, cb);
    if (ca >= cb && p.mode == 0) return; // no chunk of this sequence in the segment
    int v0 = vt * TV;

    vec4 S[KP][TV4];
    uint sbase = uint(n * H + h) * uint(K) * uint(V);
    STATE_TILE_LOAD(S, ld_h0, sbase, p.mode != 2);

    const uint vh4 = uint(p.Vh) >> 2;
    for (int c = ca; c < cb; c++) {
        // the state entering chunk c, 4 rows at a time from the top, rotating the tile
        uint hb = (uint((c - p.segA) * H + h) * uint(KP) * uint(p.Vh) + uint(v0)) >> 2;
        [[dont_unroll]] for (int d4 = 0; d4 < KP; d4 += 4) {
            vec4 top[4][TV4];
            [[unroll]] for (int e = 0; e < 4; e++)
                [[unroll]] for (int j = 0; j < TV4; j++) {
                    top[e][j] = S[e][j];
                    hb4[hb + uint(d4 + e) * vh4 + uint(j)] = S[e][j];
                }
            [[unroll]] for (int r = 0; r < KP - 4; r++)
                [[unroll]] for (int j = 0; j < TV4; j++) S[r][j] = S[r + 4][j];
            [[unroll]] for (int e = 0; e < 4; e++)
                [[unroll]] for (int j = 0; j < TV4; j++) S[KP - 4 + e][j] = top[e][j];
        }
        int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];
        // Vn = U - W S, row by row
        for (int i = 0; i < len; i++) {
            uint r = uint((row0 + i - p.rowBase) * H + h);
            uint wr = r * uint(KP4);
            vec4 acc[TV4];
            [[unroll]] for (int j = 0; j < TV4; j++) acc[j] = vec4(0.0);
            [[unroll]] for (int a4 = 0; a4 < KP4; a4++) {
                vec4 w = w4[wr + uint(a4)];
                [[unroll]] for (int e = 0; e < 4; e++)
                    [[unroll]] for (int j = 0; j < TV4; j++) acc[j] += w[e] * S[4 * a4 + e][j];
            }
            [[unroll]] for (int j = 0; j < TV4; j++) st_u(r * uint(V), v0 + 4 * j, V, ld_u(r * uint(V), v0 + 4 * j, V) - acc[j]);
        }
        // S = e^{G_last} S + sum_i (k̂_i e^{G_last - G_i}) Vn_i^T
        float gl = gb[uint((row0 + len - 1 - p.rowBase) * H + h)].x;
        float dec = exp(gl);
        [[unroll]] for (int d = 0; d < KP; d++)
            [[unroll]] for (int j = 0; j < TV4; j++) S[d][j] *= dec;
        for (int i = 0; i < len; i++) {
            uint r = uint((row0 + i - p.rowBase) * H + h);
            float f = exp(gl - gb[r].x);
            vec4 vn[TV4];
            [[unroll]] for (int j = 0; j < TV4; j++) vn[j] = ld_u(r * uint(V), v0 + 4 * j, V);
            uint kr = r * uint(KP4);
            [[unroll]] for (int a4 = 0; a4 < KP4; a4++) {
                vec4 kd = kn4[kr + uint(a4)] * f;
                [[unroll]] for (int e = 0; e < 4; e++)
                    [[unroll]] for (int j = 0; j < TV4; j++) S[4 * a4 + e][j] += kd[e] * vn[j];
            }
        }
    }

    STATE_TILE_STORE(S, st_fin, sbase);
}
