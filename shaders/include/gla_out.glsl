// GLA chunked form, pass 3 of 3: the output (included by gla_out.comp and gla_out_f16.comp).
// One invocation owns rows rb*TM .. rb*TM+TM-1 of chunk c and columns vt*TV .. vt*TV+TV-1 of
// head h, a TM x TV register tile of
//   o[i, :] = sum_d qs[i, d] hbuf[c, d, :] + sum_{s <= i} abuf[i, s] v[s, :]
// (qs and abuf from gla_intra carry scale and the gates, hbuf from gla_state is the state
// entering the chunk, [Kh, Vh] padded). Both sums are stepped 4 terms at a time with vec4 loads.
// TM is 16 or 32 (abuf holds zeros up to the end of the second sub-chunk of a pair).
// The delta rule (ops/delta.go) reuses it: with Kp = 0 it is the product of a chunk's lower
// triangular matrix with a [rows, V] block (its W and U), and for its output v is the float32
// scratch of corrected values (GLA_V_F32 before the include: float32 v, f16 o). v's and o's rows
// are counted from vBase and oBase (0 for tensors indexed by absolute row, rowBase for scratch).
#include "gla_io.glsl"
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int TM = 16;
layout(constant_id = 2) const int TV = 32;
layout(constant_id = 3) const bool V4 = false; // V % 4 == 0
const int TV4 = TV / 4;

layout(std430, binding = 0) readonly buffer Tab { int tab[]; };
layout(std430, binding = 1) readonly buffer Qs { vec4 qs4[]; };
layout(std430, binding = 2) readonly buffer Ab { vec4 ab4[]; };
layout(std430, binding = 3) readonly buffer Hb { vec4 hb4[]; };
#ifdef GLA_V_F32
F32_BUF(4, v, readonly)
F32_LOAD(v, V4)
#else
SEQ_BUF(4, v, readonly)
SEQ_LOAD(v, V4)
#endif
SEQ_BUF(5, o, writeonly)
layout(push_constant) uniform P { int H, V, Kp, Kh, Vh, N, segA, segB, rowBase, nVT, vBase, oBase; } p;
SEQ_STORE(o, V4)

void main() {
    int id = int(linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    const int H = p.H, V = p.V;
    int h = id % H, c = p.segA + id / H;
    int rb = int(gl_WorkGroupID.z) / p.nVT, vt = int(gl_WorkGroupID.z) % p.nVT;
    if (c >= p.segB) return;
    int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];
    int i0 = rb * TM, v0 = vt * TV;
    if (i0 >= len) return;

    vec4 acc[TM][TV4];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TV4; j++) acc[i][j] = vec4(0.0);

    // element offsets of the tile's rows in qs and abuf (rows past the chunk repeat its last)
    uint xq[TM], xa[TM];
    [[unroll]] for (int i = 0; i < TM; i++) {
        uint r = uint((row0 + min(i0 + i, len - 1) - p.rowBase) * H + h);
        xq[i] = (r * uint(p.Kp)) >> 2;
        xa[i] = (r * uint(GLA_C)) >> 2;
    }
    // inter-chunk: gated queries times the state entering the chunk
    // (Vh, a multiple of the state pass's tile width, is a multiple of TV: the tile fits)
    uint hrow = (uint((c - p.segA) * H + h) * uint(p.Kh) * uint(p.Vh) + uint(v0)) >> 2;
    const uint vh4 = uint(p.Vh) >> 2;
    for (int d = 0; d < p.Kp; d += 4) {
        vec4 x[TM];
        [[unroll]] for (int i = 0; i < TM; i++) x[i] = qs4[xq[i] + uint(d >> 2)];
        [[unroll]] for (int c4 = 0; c4 < 4; c4++) {
            vec4 y[TV4];
            uint hr = hrow + uint(d + c4) * vh4;
            [[unroll]] for (int j = 0; j < TV4; j++) y[j] = hb4[hr + uint(j)];
            [[unroll]] for (int i = 0; i < TM; i++)
                [[unroll]] for (int j = 0; j < TV4; j++) acc[i][j] += x[i][c4] * y[j];
        }
    }
    // intra-chunk: the masked attention times the chunk's values (abuf is 0 above the diagonal)
    int send = min(i0 + TM, len);
    for (int s = 0; s < send; s += 4) {
        vec4 x[TM];
        [[unroll]] for (int i = 0; i < TM; i++) x[i] = ab4[xa[i] + uint(s >> 2)];
        [[unroll]] for (int c4 = 0; c4 < 4; c4++) {
            uint e = uint((row0 + min(s + c4, len - 1) - p.vBase) * H + h) * uint(V);
            vec4 y[TV4];
            [[unroll]] for (int j = 0; j < TV4; j++) y[j] = ld_v(e, v0 + 4 * j, V);
            [[unroll]] for (int i = 0; i < TM; i++)
                [[unroll]] for (int j = 0; j < TV4; j++) acc[i][j] += x[i][c4] * y[j];
        }
    }

    // row by row from the top row, shifting the tile up: TV4 store sites (LLVM compile time)
    [[dont_unroll]] for (int i = 0; i < TM; i++) {
        if (i0 + i < len) {
            uint e = uint((row0 + i0 + i - p.oBase) * H + h) * uint(V);
            [[unroll]] for (int j = 0; j < TV4; j++) st_o(e, v0 + 4 * j, V, acc[0][j]);
        }
        [[unroll]] for (int r = 0; r < TM - 1; r++)
            [[unroll]] for (int j = 0; j < TV4; j++) acc[r][j] = acc[r + 1][j];
    }
}
