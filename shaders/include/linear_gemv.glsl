// Linear for few rows (decode): out[m, n] = sum_k x[m, k] * w[n, k] + bias[n], included by
// linear_gemv.comp (float32 weight) and linear_gemv_f16.comp (float16 weight, ACT_F16 1).
// x [M, K] and out [M, N] are float32, w [N, K] (torch nn.Linear layout). Invocation i of the grid
// owns output columns NR·i .. NR·i+NR-1 for MR consecutive rows (workgroup y picks the block of
// rows), so each weight row is streamed once per MR rows of x and each load of x serves NR weight
// rows. On CPU devices (lavapipe) every buffer load whose address differs across lanes is issued
// lane by lane, one scalar load per lane and 32-bit component, x's included; NR > 1 spreads those
// x loads over NR rows, leaving about the weight's own loads (4 per 8 halves). GPUs take NR = 1.
// Tensors larger than a binding are bound in windows: x, w and out start at elements xb, wb, ob of
// their bindings, out rows are ldo apart and this dispatch covers columns n0 .. n0+N-1 of out
// (bias is indexed n0 + n). VEC (K, xb and wb multiples of 4) reads 4-vectors.
#include "grid.glsl"
#include "ssm_io.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int MR = 1;
layout(constant_id = 2) const bool VEC = false;
layout(constant_id = 3) const int NR = 1;
layout(std430, binding = 0) readonly buffer X1 { float x1[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
ACT_IN(1, w)
#if ACT_F16
// The float16 weight also read as 8 halves per uvec4 and widened with unpackHalf2x16: on CPU
// devices this is 4 scalar loads per lane where 16-bit loads would be 8.
layout(std430, binding = 1) readonly buffer W8 { uvec4 w8[]; };
#endif
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint M, N, K, has_bias, xb, wb, ob, ldo, n0; } p;

void main() {
    uint i = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint m0 = gl_WorkGroupID.y * MR;
    uint K = p.K;
    if (i * NR >= p.N) return; // whole lanes past the end (clamped rows would redo the last one)
    uint nr[NR], xr[MR];
    [[unroll]] for (int j = 0; j < NR; j++) nr[j] = min(i * NR + j, p.N - 1);
    [[unroll]] for (int r = 0; r < MR; r++) xr[r] = min(m0 + r, p.M - 1) * K;
    float acc[MR][NR];
    [[unroll]] for (int r = 0; r < MR; r++)
        [[unroll]] for (int j = 0; j < NR; j++) acc[r][j] = 0.0;
#if ACT_F16
    if (VEC && K % 8 == 0 && p.wb % 8 == 0) {
        uint K8 = K / 8, xb = p.xb / 4, wb = p.wb / 8;
        for (uint k = 0; k < K8; k++) {
            vec4 xa[MR], xc[MR];
            [[unroll]] for (int r = 0; r < MR; r++) {
                xa[r] = x4[xb + xr[r] / 4 + 2 * k];
                xc[r] = x4[xb + xr[r] / 4 + 2 * k + 1];
            }
            [[unroll]] for (int j = 0; j < NR; j++) {
                uvec4 q = w8[wb + nr[j] * K8 + k];
                vec4 w0 = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
                vec4 w1 = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
                [[unroll]] for (int r = 0; r < MR; r++) acc[r][j] += dot(xa[r], w0) + dot(xc[r], w1);
            }
        }
    } else
#endif
    if (VEC) {
        uint K4 = K / 4, xb = p.xb / 4, wb = p.wb / 4;
        for (uint k = 0; k < K4; k++) {
            vec4 xv[MR];
            [[unroll]] for (int r = 0; r < MR; r++) xv[r] = x4[xb + xr[r] / 4 + k];
            [[unroll]] for (int j = 0; j < NR; j++) {
                vec4 wv = ld4(w, wb + nr[j] * K4 + k);
                [[unroll]] for (int r = 0; r < MR; r++) acc[r][j] += dot(xv[r], wv);
            }
        }
    } else {
        for (uint k = 0; k < K; k++) {
            float xv[MR];
            [[unroll]] for (int r = 0; r < MR; r++) xv[r] = x1[p.xb + xr[r] + k];
            [[unroll]] for (int j = 0; j < NR; j++) {
                float wv = ld1(w, p.wb + nr[j] * K + k);
                [[unroll]] for (int r = 0; r < MR; r++) acc[r][j] += xv[r] * wv;
            }
        }
    }
    [[unroll]] for (int j = 0; j < NR; j++) {
        uint n = i * NR + j;
        if (n >= p.N) break;
        float b = p.has_bias != 0 ? bias[p.n0 + n] : 0.0;
        [[unroll]] for (int r = 0; r < MR; r++)
            if (m0 + r < p.M) o[p.ob + (m0 + r) * p.ldo + p.n0 + n] = acc[r][j] + b;
    }
}
