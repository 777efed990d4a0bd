// Delta rule chunked form (ops/delta.go), pass 3 of 6: T = (I + A)^-1 for every chunk, by blocked
// forward substitution (included by delta_inv.comp). A (amat, from delta_kk) is strictly lower
// triangular, so T is unit lower triangular. One invocation owns column block J (16 columns) of
// chunk c's T for head h (J is the workgroup layer z) and computes its row blocks top down:
//   T_JJ = (I + A_JJ)^-1                                  (forward substitution, 16 rows)
//   T_IJ = -(I + A_II)^-1 sum_{J <= L < I} A_IL T_LJ      (I > J: block products, then the same
//                                                          substitution)
// writing tbuf[i, 16J .. 16J+15] for the chunk's rows i (zeros above the diagonal block), and
// reading back the blocks T_LJ it wrote itself. The product of the (I - beta k k^T) factors is
// never formed: W = T (beta e^G K) and U = T (beta V) follow (gla_out with Kp = 0).
#include "gla_io.glsl"
#include "grid.glsl"
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Tab { int tab[]; };
layout(std430, binding = 1) readonly buffer Am { vec4 am4[]; };
layout(std430, binding = 2) buffer Tb { vec4 tb4[]; };
layout(push_constant) uniform P { int H, N, segA, segB, rowBase; } p;

void main() {
    int id = int(linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    const int H = p.H;
    int h = id % H, c = p.segA + id / H;
    if (c >= p.segB) return;
    int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];
    const int J = int(gl_WorkGroupID.z);
    int pj = GLA_SUB * J;
    if (pj >= len) return;
    const uint C4 = uint(GLA_C / 4);
#define ROW4(i) (uint((row0 + (i) - p.rowBase) * H + h) * C4)

    // zeros above the diagonal block
    for (int i = 0; i < pj; i++) {
        [[unroll]] for (int b = 0; b < 4; b++) tb4[ROW4(i) + uint(J * 4 + b)] = vec4(0.0);
    }
    [[dont_unroll]] for (int I = J; I < GLA_C / GLA_SUB && GLA_SUB * I < len; I++) {
        int pi = GLA_SUB * I;
        // right-hand side: the unit block on the diagonal, minus sum_L A_IL T_LJ below it
        vec4 x[GLA_SUB][4];
        [[unroll]] for (int a = 0; a < GLA_SUB; a++)
            [[unroll]] for (int b = 0; b < 4; b++) x[a][b] = vec4(0.0);
        if (I == J) {
            [[unroll]] for (int a = 0; a < GLA_SUB; a++) x[a][a / 4][a % 4] = 1.0;
        }
        for (int L = J; L < I; L++) {
            [[dont_unroll]] for (int s4 = 0; s4 < GLA_SUB / 4; s4++) {
                vec4 t[4][4]; // rows 16L + 4 s4 + e of T_LJ
                [[unroll]] for (int e = 0; e < 4; e++)
                    [[unroll]] for (int b = 0; b < 4; b++) t[e][b] = tb4[ROW4(GLA_SUB * L + 4 * s4 + e) + uint(J * 4 + b)];
                [[unroll]] for (int a = 0; a < GLA_SUB; a++) {
                    vec4 av = am4[ROW4(min(pi + a, len - 1)) + uint(L * 4 + s4)];
                    [[unroll]] for (int e = 0; e < 4; e++)
                        [[unroll]] for (int b = 0; b < 4; b++) x[a][b] -= av[e] * t[e][b];
                }
            }
        }
        // forward substitution with the diagonal block, row by row (a loop: every array index stays
        // constant, so the tiles stay in registers): y_a = x_a - sum_b A_II[a, b] y_b over all 16
        // columns b (A_II is 0 on and above its diagonal, and rows not yet solved hold 0); the
        // right-hand sides rotate up, the solved row is selected into place.
        vec4 y[GLA_SUB][4];
        [[unroll]] for (int a = 0; a < GLA_SUB; a++)
            [[unroll]] for (int b = 0; b < 4; b++) y[a][b] = vec4(0.0);
        [[dont_unroll]] for (int a = 0; a < GLA_SUB; a++) {
            uint rr = ROW4(min(pi + a, len - 1)) + uint(I * 4);
            vec4 a4[4];
            [[unroll]] for (int b = 0; b < 4; b++) a4[b] = am4[rr + uint(b)];
            vec4 r[4];
            [[unroll]] for (int e = 0; e < 4; e++) r[e] = x[0][e];
            [[unroll]] for (int b = 0; b < GLA_SUB; b++)
                [[unroll]] for (int e = 0; e < 4; e++) r[e] -= a4[b / 4][b % 4] * y[b][e];
            [[unroll]] for (int b = 0; b < GLA_SUB; b++)
                [[unroll]] for (int e = 0; e < 4; e++) y[b][e] = b == a ? r[e] : y[b][e];
            [[unroll]] for (int t = 0; t < GLA_SUB - 1; t++)
                [[unroll]] for (int e = 0; e < 4; e++) x[t][e] = x[t + 1][e];
            if (pi + a < len) {
                [[unroll]] for (int e = 0; e < 4; e++) tb4[rr - uint(I * 4) + uint(J * 4 + e)] = r[e];
            }
        }
    }
}
