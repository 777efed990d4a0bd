// Linear for few rows (decode): out[m, n] = sum_k x[m, k] * w[n, k] + bias[n], included by
// linear_gemv.comp (float32 weight) and linear_gemv_f16.comp (float16 weight, ACT_F16 1).
// x [M, K] and out [M, N] are float32, w [N, K] (torch nn.Linear layout). Invocation n of the grid
// owns output column n for MR consecutive rows (workgroup y picks the block of rows), so each
// weight row is streamed once per MR rows of x and x is read uniformly by the whole workgroup.
// Tensors larger than a binding are bound in windows: x, w and out start at elements xb, wb, ob of
// their bindings, out rows are ldo apart and this dispatch covers columns n0 .. n0+N-1 of out
// (bias is indexed n0 + n). VEC (K, xb and wb multiples of 4) reads 4-vectors.
#include "grid.glsl"
#include "ssm_io.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int MR = 1;
layout(constant_id = 2) const bool VEC = false;
layout(std430, binding = 0) readonly buffer X1 { float x1[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
ACT_IN(1, w)
#if ACT_F16
// The float16 weight also read as 8 halves per uvec4 and widened with unpackHalf2x16: on CPU
// devices this is a vector conversion, where 16-bit loads are widened one by one.
layout(std430, binding = 1) readonly buffer W8 { uvec4 w8[]; };
#endif
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint M, N, K, has_bias, xb, wb, ob, ldo, n0; } p;

void main() {
    uint n = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint m0 = gl_WorkGroupID.y * MR;
    uint nr = min(n, p.N - 1), K = p.K;
    float acc[MR];
    [[unroll]] for (int r = 0; r < MR; r++) acc[r] = 0.0;
#if ACT_F16
    if (VEC && K % 8 == 0 && p.wb % 8 == 0) {
        uint K4 = K / 4, K8 = K / 8, wb = p.wb / 8 + nr * K8, xb = p.xb / 4;
        for (uint k = 0; k < K8; k++) {
            uvec4 q = w8[wb + k];
            vec4 w0 = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
            vec4 w1 = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
            [[unroll]] for (int r = 0; r < MR; r++) {
                uint xr = xb + min(m0 + r, p.M - 1) * K4 + 2 * k;
                acc[r] += dot(x4[xr], w0) + dot(x4[xr + 1], w1);
            }
        }
    } else
#endif
    if (VEC) {
        uint K4 = K / 4, wb = p.wb / 4 + nr * K4, xb = p.xb / 4;
        for (uint k = 0; k < K4; k++) {
            vec4 wv = ld4(w, wb + k);
            [[unroll]] for (int r = 0; r < MR; r++) acc[r] += dot(x4[xb + min(m0 + r, p.M - 1) * K4 + k], wv);
        }
    } else {
        uint wb = p.wb + nr * K;
        for (uint k = 0; k < K; k++) {
            float wv = ld1(w, wb + k);
            [[unroll]] for (int r = 0; r < MR; r++) acc[r] += x1[p.xb + min(m0 + r, p.M - 1) * K + k] * wv;
        }
    }
    if (n >= p.N) return;
    float b = p.has_bias != 0 ? bias[p.n0 + n] : 0.0;
    [[unroll]] for (int r = 0; r < MR; r++)
        if (m0 + r < p.M) o[p.ob + (m0 + r) * p.ldo + p.n0 + n] = acc[r] + b;
}
