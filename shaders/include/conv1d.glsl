// Causal depthwise conv1d (Mamba's short convolution), included by conv1d.comp (float32
// activations) and conv1d_f16.comp (float16 activations).
//
//   out[r, t] = act(bias[d] + sum_{k<W} w[d, k] * x[r, t - (W-1) + k]),   r = b*D + d (a row)
//
// with x[r, t < 0] read from init[r, W-1+t] (or zero) and, when asked, fin[r, :] = the last W-1
// inputs x[r, L-(W-1)..L-1] (reaching back into init when L < W-1). x and out are [rows, L]
// (activation dtype); weight [D, W], bias [D], init and fin [B*D, W-1] are float32.
//
// Each invocation owns one row and `tpi` consecutive tiles of T outputs, carrying the last W-1
// inputs from tile to tile in registers; the update (decode) form runs one invocation per row
// over all its tiles, so that init and fin may be the same tensor (state updated in place: the
// invocation reads init before it writes fin). VEC: rows and tiles are read and written as
// 4-vectors (L and the window base a multiple of 4).
#include "grid.glsl"
#include "math.glsl"
#include "ssm_io.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int T = 16; // outputs per tile, a multiple of 4
layout(constant_id = 2) const int W = 4;  // kernel width, 1..8
layout(constant_id = 3) const bool VEC = false;
const int S = W - 1;

ACT_IN(0, x)
layout(std430, binding = 1) readonly buffer Wt { float wt[]; };
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) readonly buffer Ini { float init[]; };
ACT_OUT(4, o)
layout(std430, binding = 5) writeonly buffer Fin { float fin[]; };
// rows: rows in this dispatch; row0: the global row of the first; xbase: element of row0's t = 0
// in the bound x and out; ntiles: tiles per row; tpi: tiles per invocation; ngroups = ceil(ntiles/tpi).
layout(push_constant) uniform P { uint rows, D, L, ntiles, tpi, ngroups, flags, xbase, row0; } p;
const uint HAS_BIAS = 1u, HAS_INIT = 2u, SILU = 4u, WRITE_FINAL = 8u;

void main() {
    uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (idx >= p.rows * p.ngroups) return;
    uint r = idx / p.ngroups, grp = idx % p.ngroups;
    uint R = p.row0 + r, d = R % p.D, L = p.L;
    uint xrow = p.xbase + r * L;
    bool hasInit = (p.flags & HAS_INIT) != 0u, act = (p.flags & SILU) != 0u;

    float w[W];
    [[unroll]] for (int k = 0; k < W; k++) w[k] = wt[d * W + k];
    float b0 = (p.flags & HAS_BIAS) != 0u ? bias[d] : 0.0;

    uint tile0 = grp * p.tpi, tile1 = min(tile0 + p.tpi, p.ntiles);
    // The final state is read before anything is written: in the update form init and fin are
    // the same memory.
    bool writeFinal = (p.flags & WRITE_FINAL) != 0u && tile1 == p.ntiles;
    float f[8];
    [[unroll]] for (int m = 0; m < 8; m++) f[m] = 0.0;
    if (writeFinal) {
        [[unroll]] for (int m = 0; m < S; m++) {
            int t = int(L) - S + m;
            if (t >= 0) f[m] = ld1(x, xrow + uint(t));
            else if (hasInit) f[m] = init[R * S + uint(S + t)];
        }
    }
    float prev[8]; // prev[m] = x[t0 - S + m], m < S
    [[unroll]] for (int m = 0; m < 8; m++) prev[m] = 0.0;
    uint t0 = tile0 * T;
    [[unroll]] for (int m = 0; m < S; m++) {
        int t = int(t0) - S + m;
        if (t >= 0) prev[m] = ld1(x, xrow + uint(t));
        else if (hasInit) prev[m] = init[R * S + uint(S + t)];
    }

    for (uint tile = tile0; tile < tile1; tile++) {
        t0 = tile * T;
        float cur[T];
        if (VEC) {
            [[unroll]] for (int q = 0; q < T / 4; q++) {
                vec4 v = t0 + 4 * q < L ? ld4(x, (xrow + t0) / 4 + q) : vec4(0.0);
                [[unroll]] for (int c = 0; c < 4; c++) cur[4 * q + c] = v[c];
            }
        } else {
            [[unroll]] for (int j = 0; j < T; j++) cur[j] = t0 + j < L ? ld1(x, xrow + t0 + j) : 0.0;
        }
        float y[T];
        [[unroll]] for (int j = 0; j < T; j++) {
            float acc = b0;
            [[unroll]] for (int k = 0; k < W; k++) acc += w[k] * (j + k < S ? prev[j + k] : cur[j + k - S]);
            y[j] = act ? silu(acc) : acc;
        }
        if (VEC) {
            [[unroll]] for (int q = 0; q < T / 4; q++)
                if (t0 + 4 * q < L) st4(o, (xrow + t0) / 4 + q, vec4(y[4 * q], y[4 * q + 1], y[4 * q + 2], y[4 * q + 3]));
        } else {
            [[unroll]] for (int j = 0; j < T; j++)
                if (t0 + j < L) st1(o, xrow + t0 + j, y[j]);
        }
        float np[8];
        [[unroll]] for (int m = 0; m < 8; m++) np[m] = 0.0;
        [[unroll]] for (int m = 0; m < S; m++) np[m] = T + m < S ? prev[T + m] : cur[T + m - S];
        [[unroll]] for (int m = 0; m < S; m++) prev[m] = np[m];
    }

    if (writeFinal) {
        [[unroll]] for (int m = 0; m < S; m++) fin[R * S + m] = f[m];
    }
}
