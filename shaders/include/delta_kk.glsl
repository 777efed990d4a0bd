// Delta rule chunked form (ops/delta.go), pass 2 of 6: the chunk's two masked matrices (included
// by delta_kk.comp). One invocation owns ROWS rows (8 or 16; part = z % (16/ROWS)) of the 16x16
// block (I, J), J <= I, of chunk c for head h (the block is z / (16/ROWS) in the order I =
// 0,1,1,2,2,2,3,3,3,3, J = 0,0,1,0,1,2,0,1,2,3) and
// writes, for its rows i (positions within the chunk) and columns s,
//   amat[i, s] = beta_i (k̂_i . k̂_s) e^{G_i - G_s}   for s < i, else 0
//   abuf[i, s] = scale (q̂_i . k̂_s) e^{G_i - G_s}    for s <= i, else 0
// (and, on the diagonal blocks, zeros in every column past the block, which the output's row tiles
// read). Each exponent is G_i - G_s with s <= i, at most 0 when g <= 0. Operands come from
// delta_prep's scratch (rows from rowBase, width Kp, zero padded).
#include "gla_io.glsl"
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int ROWS = 16; // rows of the block per invocation: 8 or 16
const int PARTS = GLA_SUB / ROWS;

layout(std430, binding = 0) readonly buffer Tab { int tab[]; };
layout(std430, binding = 1) readonly buffer Kn { vec4 kn4[]; };
layout(std430, binding = 2) readonly buffer Qn { vec4 qn4[]; };
layout(std430, binding = 3) readonly buffer Gb { vec2 gb[]; };
layout(std430, binding = 4) writeonly buffer Am { vec4 am4[]; };
layout(std430, binding = 5) writeonly buffer Ab { vec4 ab4[]; };
layout(push_constant) uniform P { int H, Kp, N, segA, segB, rowBase; float scale; } p;

const int BI[10] = int[10](0, 1, 1, 2, 2, 2, 3, 3, 3, 3);
const int BJ[10] = int[10](0, 0, 1, 0, 1, 2, 0, 1, 2, 3);

void main() {
    int id = int(linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    const int H = p.H;
    int h = id % H, c = p.segA + id / H;
    if (c >= p.segB) return;
    int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];
    const int blk = int(gl_WorkGroupID.z) / PARTS, part = int(gl_WorkGroupID.z) % PARTS;
    const int I = BI[blk], J = BJ[blk];
    int pi = GLA_SUB * I + ROWS * part, pj = GLA_SUB * J;
    if (pi >= len) return;

    // scratch rows (relative), clamped into the chunk: rows past its end repeat its last
    uint ri[ROWS], rj[GLA_SUB];
    [[unroll]] for (int a = 0; a < ROWS; a++) ri[a] = uint((row0 + min(pi + a, len - 1) - p.rowBase) * H + h);
    [[unroll]] for (int b = 0; b < GLA_SUB; b++) rj[b] = uint((row0 + min(pj + b, len - 1) - p.rowBase) * H + h);
    const uint kp4 = uint(p.Kp) >> 2;

    vec4 kk[ROWS][4], qk[ROWS][4];
    [[unroll]] for (int a = 0; a < ROWS; a++)
        [[unroll]] for (int b = 0; b < 4; b++) {
            kk[a][b] = vec4(0.0);
            qk[a][b] = vec4(0.0);
        }
    for (uint d4 = 0u; d4 < kp4; d4++) {
        vec4 ki[ROWS], qi[ROWS], ks[GLA_SUB];
        [[unroll]] for (int a = 0; a < ROWS; a++) {
            ki[a] = kn4[ri[a] * kp4 + d4];
            qi[a] = qn4[ri[a] * kp4 + d4];
        }
        [[unroll]] for (int b = 0; b < GLA_SUB; b++) ks[b] = kn4[rj[b] * kp4 + d4];
        // row by row (not unrolled: compile time), the row's operands and sums rotating up
        [[dont_unroll]] for (int a = 0; a < ROWS; a++) {
            vec4 x[4], y[4];
            [[unroll]] for (int b = 0; b < 4; b++) {
                x[b] = kk[0][b];
                y[b] = qk[0][b];
            }
            [[unroll]] for (int b = 0; b < GLA_SUB; b++) {
                x[b / 4][b % 4] += dot(ki[0], ks[b]);
                y[b / 4][b % 4] += dot(qi[0], ks[b]);
            }
            vec4 k0 = ki[0], q0 = qi[0];
            [[unroll]] for (int t = 0; t < ROWS - 1; t++) {
                ki[t] = ki[t + 1];
                qi[t] = qi[t + 1];
                [[unroll]] for (int b = 0; b < 4; b++) {
                    kk[t][b] = kk[t + 1][b];
                    qk[t][b] = qk[t + 1][b];
                }
            }
            ki[ROWS - 1] = k0;
            qi[ROWS - 1] = q0;
            [[unroll]] for (int b = 0; b < 4; b++) {
                kk[ROWS - 1][b] = x[b];
                qk[ROWS - 1][b] = y[b];
            }
        }
    }

    vec4 gs[4];
    [[unroll]] for (int b = 0; b < GLA_SUB; b++) gs[b / 4][b % 4] = gb[rj[b]].x;
    // row by row from the top row, shifting the tiles up: few store sites (compile time)
    [[dont_unroll]] for (int a = 0; a < ROWS; a++) {
        int i = pi + a;
        if (i < len) {
            vec2 gi = gb[ri[0]];
            uint base = (uint((row0 + i - p.rowBase) * H + h) * uint(GLA_C) + uint(pj)) >> 2;
            [[unroll]] for (int b = 0; b < 4; b++) {
                ivec4 s = pj + 4 * b + ivec4(0, 1, 2, 3);
                vec4 e = exp(gi.x - gs[b]); // only taken where s <= i (mix selects)
                am4[base + uint(b)] = mix(vec4(0.0), gi.y * kk[0][b] * e, lessThan(s, ivec4(i)));
                ab4[base + uint(b)] = mix(vec4(0.0), p.scale * qk[0][b] * e, lessThanEqual(s, ivec4(i)));
            }
            if (I == J) { // zeros past the diagonal block
                for (int b = 4; b < GLA_C / 4 - 4 * I; b++) ab4[base + uint(b)] = vec4(0.0);
            }
        }
        [[unroll]] for (int r = 0; r < ROWS - 1; r++) {
            ri[r] = ri[r + 1];
            [[unroll]] for (int b = 0; b < 4; b++) {
                kk[r][b] = kk[r + 1][b];
                qk[r][b] = qk[r + 1][b];
            }
        }
    }
}
