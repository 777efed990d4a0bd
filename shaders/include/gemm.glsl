// The body of gemm.comp (float32 B), and of Linear's linear_gemm.comp and linear_gemm_f16.comp
// (float16 B, B_F16 1), which add a bias in the epilogue (LINEAR_BIAS 1).
// C[b] = op(A[b]) * op(B[b]), float32, row-major.
// A is [M,K] ([K,M] when TA), B is [K,N] ([N,K] when TB), C is [M,N]; batch b = gl_WorkGroupID.z
// with element strides sa, sb, sc between batches (sb = 0 broadcasts one B to every batch).
// Each invocation computes a TM x TN register tile (TN a multiple of 4) and steps K by 4.
// VEC (legal when M, N, K and the strides are multiples of 4; texel builds: see gemmTexelVec in
// ops/gemm.go) reads and writes vec4s through aliases of the same bindings (texel builds: one
// texel per vec4); otherwise every access is scalar and bounds-checked.
// Tile shapes come per device through specialization constants (see ops/tuning.go).
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const int TM = 8;
layout(constant_id = 3) const int TN = 8;
layout(constant_id = 4) const bool TA = false;
layout(constant_id = 5) const bool TB = false;
layout(constant_id = 6) const bool VEC = false;
// ROWWISE (CPU devices, VEC without TA): the row-by-row loop below, KB steps of k at a time (4
// or 8; K must be a multiple of KB).
layout(constant_id = 8) const bool ROWWISE = false;
layout(constant_id = 9) const int KB = 4;
const int TN4 = TN / 4;

#ifndef B_F16
#define B_F16 0
#endif
#ifndef GEMM_TEXEL
#define GEMM_TEXEL 0
#endif
#if GEMM_TEXEL
// Texel builds (gemm_texel, linear_gemm_texel, linear_gemm_f16_texel; CPU devices): A and B are
// uniform texel buffers of RGBA32UI texels (4 floats, or 8 halves of a float16 B), read with
// texelFetch, which lavapipe emits as a gather where a storage-buffer load is a loop over the
// lanes. Indices stay in elements of the binding; the bindings start on texel boundaries.
layout(binding = 0) uniform usamplerBuffer at;
layout(binding = 1) uniform usamplerBuffer bt;
vec4 lda4(uint i) { return uintBitsToFloat(texelFetch(at, int(i))); }
float lda1(uint i) { return uintBitsToFloat(texelFetch(at, int(i / 4))[i % 4]); }
#define LDA4(i) lda4(i)
#define LDA1(i) lda1(i)
#if B_F16
vec4 ldb4(uint i) {
    uvec4 q = texelFetch(bt, int(i / 2));
    return (i % 2) == 0 ? vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)) : vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
}
float ldb1(uint i) { return unpackHalf2x16(texelFetch(bt, int(i / 8))[(i / 2) % 4])[i % 2]; }
#else
vec4 ldb4(uint i) { return uintBitsToFloat(texelFetch(bt, int(i))); }
float ldb1(uint i) { return uintBitsToFloat(texelFetch(bt, int(i / 4))[i % 4]); }
#endif
#define LDB4(i) ldb4(i)
#define LDB1(i) ldb1(i)
#else
layout(std430, binding = 0) readonly buffer A1 { float a1[]; };
layout(std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
#define LDA1(i) a1[i]
#define LDA4(i) a4[i]
#if B_F16
// B stored as float16 (Linear's f16 weights, TB): widened to float32 as it is read.
layout(std430, binding = 1) readonly buffer B1 { float16_t b1[]; };
layout(std430, binding = 1) readonly buffer B4 { f16vec4 b4[]; };
#define LDB1(i) float(b1[i])
#define LDB4(i) vec4(b4[i])
#else
layout(std430, binding = 1) readonly buffer B1 { float b1[]; };
layout(std430, binding = 1) readonly buffer B4 { vec4 b4[]; };
#define LDB1(i) b1[i]
#define LDB4(i) b4[i]
#endif
#endif
layout(std430, binding = 2) writeonly buffer C1 { float c1[]; };
layout(std430, binding = 2) writeonly buffer C4 { vec4 c4[]; };
#ifndef LINEAR_BIAS
#define LINEAR_BIAS 0
#endif
#if LINEAR_BIAS
// Linear's builds: bias[col] added in the epilogue when BIAS (binding 3, any buffer otherwise).
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(constant_id = 7) const bool BIAS = false;
// GELU: the exact erf GELU applied after the bias (LinearGELU).
layout(constant_id = 10) const bool GELU = false;
#include "math.glsl"
#endif
layout(push_constant) uniform P { uint M, N, K, sa, sb, sc; } p;

// colOf is the first column of the lane's column group j (four columns): a lane owns TN
// consecutive columns.
uint colOf(int j) { return (gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * TN + 4 * j; }

void main() {
    const uint M = p.M, N = p.N, K = p.K;
    const uint col0 = colOf(0);
    // With one row of invocations per workgroup the rows are uniform across the workgroup, so a
    // CPU device loads A once for all its SIMD lanes instead of gathering it lane by lane.
    const uint row0 = gl_WorkGroupSize.y == 1 ? gl_WorkGroupID.y * TM
                                              : (gl_WorkGroupID.y * gl_WorkGroupSize.y + gl_LocalInvocationID.y) * TM;
    // No early return (it would make control flow divergent): out-of-range tiles read clamped
    // addresses and skip their stores.
    const uint ba = gl_WorkGroupID.z * p.sa, bb = gl_WorkGroupID.z * p.sb, bc = gl_WorkGroupID.z * p.sc;

    vec4 acc[TM][TN4];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN4; j++) acc[i][j] = vec4(0.0);

    if (ROWWISE && VEC && !TA) {
        // Row by row: the lane's B values of KB steps of k are loaded once, then each row's A
        // values (uniform across the lanes) meet them with that row's accumulators innermost over
        // k, so that a spilled accumulator is reloaded and stored once per KB products rather
        // than once per product.
        for (uint k = 0; k < K; k += KB) {
            vec4 bw[KB][TN4]; // bw[kk][j][c] = B(k+kk, colOf(j)+c)
            if (!TB) {
                [[unroll]] for (int kk = 0; kk < KB; kk++)
                    [[unroll]] for (int j = 0; j < TN4; j++)
                        bw[kk][j] = LDB4((bb + (k + kk) * N + min(colOf(j), N - 4)) / 4);
            } else {
                [[unroll]] for (int j = 0; j < TN4; j++)
                    [[unroll]] for (int c = 0; c < 4; c++) {
                        uint col = min(colOf(j) + c, N - 1);
                        [[unroll]] for (int k4 = 0; k4 < KB / 4; k4++) {
                            vec4 t = LDB4((bb + col * K + k) / 4 + k4);
                            [[unroll]] for (int kk = 0; kk < 4; kk++) bw[4 * k4 + kk][j][c] = t[kk];
                        }
                    }
            }
            [[unroll]] for (int i = 0; i < TM; i++) {
                uint r = min(row0 + i, M - 1);
                vec4 aw[KB / 4];
                [[unroll]] for (int k4 = 0; k4 < KB / 4; k4++) aw[k4] = LDA4((ba + r * K + k) / 4 + k4);
                [[unroll]] for (int j = 0; j < TN4; j++) {
                    vec4 s = acc[i][j];
                    [[unroll]] for (int kk = 0; kk < KB; kk++) s = fma(vec4(aw[kk / 4][kk % 4]), bw[kk][j], s);
                    acc[i][j] = s;
                }
            }
        }
    } else
    for (uint k = 0; k < K; k += 4) {
        vec4 av[TM];     // av[i][kk] = A(row0+i, k+kk)
        vec4 bv[4][TN4]; // bv[kk][j][c] = B(k+kk, col0+4j+c)
        if (!TA) {
            [[unroll]] for (int i = 0; i < TM; i++) {
                uint r = min(row0 + i, M - 1);
                if (VEC) {
                    av[i] = LDA4((ba + r * K + k) / 4);
                } else {
                    [[unroll]] for (int kk = 0; kk < 4; kk++)
                        av[i][kk] = k + kk < K ? LDA1(ba + r * K + k + kk) : 0.0;
                }
            }
        } else {
            [[unroll]] for (int kk = 0; kk < 4; kk++) {
                if (VEC) {
                    [[unroll]] for (int i4 = 0; i4 < TM / 4; i4++) {
                        vec4 t = LDA4((ba + (k + kk) * M + min(row0 + 4 * i4, M - 4)) / 4);
                        [[unroll]] for (int c = 0; c < 4; c++) av[4 * i4 + c][kk] = t[c];
                    }
                } else {
                    [[unroll]] for (int i = 0; i < TM; i++)
                        av[i][kk] = k + kk < K ? LDA1(ba + (k + kk) * M + min(row0 + i, M - 1)) : 0.0;
                }
            }
        }
        if (!TB) {
            [[unroll]] for (int kk = 0; kk < 4; kk++) {
                [[unroll]] for (int j = 0; j < TN4; j++) {
                    if (VEC) {
                        bv[kk][j] = LDB4((bb + (k + kk) * N + min(col0 + 4 * j, N - 4)) / 4);
                    } else {
                        [[unroll]] for (int c = 0; c < 4; c++)
                            bv[kk][j][c] = k + kk < K ? LDB1(bb + (k + kk) * N + min(col0 + 4 * j + c, N - 1)) : 0.0;
                    }
                }
            }
        } else {
            [[unroll]] for (int j = 0; j < TN4; j++) {
                [[unroll]] for (int c = 0; c < 4; c++) {
                    uint col = min(col0 + 4 * j + c, N - 1);
                    vec4 t;
                    if (VEC) {
                        t = LDB4((bb + col * K + k) / 4);
                    } else {
                        [[unroll]] for (int kk = 0; kk < 4; kk++) t[kk] = k + kk < K ? LDB1(bb + col * K + k + kk) : 0.0;
                    }
                    [[unroll]] for (int kk = 0; kk < 4; kk++) bv[kk][j][c] = t[kk];
                }
            }
        }
        [[unroll]] for (int kk = 0; kk < 4; kk++)
            [[unroll]] for (int i = 0; i < TM; i++)
                [[unroll]] for (int j = 0; j < TN4; j++) acc[i][j] += av[i][kk] * bv[kk][j];
    }

#if LINEAR_BIAS
    if (BIAS) {
        [[unroll]] for (int j = 0; j < TN4; j++)
            [[unroll]] for (int c = 0; c < 4; c++) {
                float bv = bias[min(colOf(j) + c, N - 1)];
                [[unroll]] for (int i = 0; i < TM; i++) acc[i][j][c] += bv;
            }
    }
    if (GELU) {
        [[unroll]] for (int i = 0; i < TM; i++)
            [[unroll]] for (int j = 0; j < TN4; j++)
                [[unroll]] for (int c = 0; c < 4; c++) acc[i][j][c] = gelu(acc[i][j][c]);
    }
#endif
#if GEMM_TEXEL
    // Texel builds take VEC with any M, and with any N when TB (see gemmTexelVec in ops/gemm.go): C is
    // written by vec4s only when its rows are whole vec4s.
    const bool VECC = VEC && N % 4 == 0;
#else
    const bool VECC = VEC;
#endif
    [[unroll]] for (int i = 0; i < TM; i++) {
        uint r = row0 + i;
        if (r >= M) break;
        [[unroll]] for (int j = 0; j < TN4; j++) {
            uint col = colOf(j);
            if (VECC) {
                if (col < N) c4[(bc + r * N + col) / 4] = acc[i][j];
            } else {
                [[unroll]] for (int c = 0; c < 4; c++)
                    if (col + c < N) c1[bc + r * N + col + c] = acc[i][j][c];
            }
        }
    }
}
