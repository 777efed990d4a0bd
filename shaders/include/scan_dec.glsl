// Mamba-1 selective state update, one token, texel variant (scan_dec_t.comp and
// scan_dec_t_f16.comp; CPU devices): SelectiveStateUpdate with T = 1 and N % 4 == 0. One lane per
// row r = b*D + d (a channel of a batch), with state x (N float32 values):
//   dt = softplus(delta + bias_d) (or without softplus),   g = d / (D/G)
//   x  = exp(dt A[d,:]) ⊙ x + dt u B[b,g,:];   y = C[b,g,:] · x + D_d u;   out = y silu(z)
// Every operand is read through a uniform texel buffer (texel_io.glsl: on lavapipe a texel fetch
// is a gather, a storage-buffer load a loop over the lanes); the new state is written through
// binding 10, which may be the same memory as texel binding 8 (each lane reads its own row
// before writing it). u, delta, z, out are [rows] (element base p.base), B and C [B, G, N]; A
// [D, N], Dskip, bias [D] and the states [B*D, N] float32.
// DT_RANK > 0 folds Mamba-1's dt_proj in: delta is then [B, DT_RANK] (element 0 of the view at
// the batch's first row) and delta_d = W[d, :] · delta[b, :], with W [D, DT_RANK] (binding 11,
// float16 when DT_W_F16, else float32), before the bias and the softplus.
#extension GL_EXT_control_flow_attributes : require
#include "grid.glsl"
#include "math.glsl"
#include "ssm_io.glsl"
#define TEXEL_HALF ACT_F16
#include "texel_io.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int N4 = 4; // N / 4
layout(constant_id = 2) const uint DT_RANK = 0;
layout(constant_id = 3) const bool DT_W_F16 = false;
const float LOG2E = 1.4426950408889634;

layout(binding = 0) uniform usamplerBuffer u_t;
layout(binding = 1) uniform usamplerBuffer dl_t;
layout(binding = 2) uniform usamplerBuffer A_t;
layout(binding = 3) uniform usamplerBuffer bm_t;
layout(binding = 4) uniform usamplerBuffer cm_t;
layout(binding = 5) uniform usamplerBuffer D_t;
layout(binding = 6) uniform usamplerBuffer z_t;
layout(binding = 7) uniform usamplerBuffer bias_t;
layout(binding = 8) uniform usamplerBuffer init_t;
layout(binding = 11) uniform usamplerBuffer dtw_t;
ACT_OUT(9, o)
layout(std430, binding = 10) writeonly buffer LB4 { vec4 last4[]; };
// scan.glsl's push constants (L = 1).
layout(push_constant) uniform P { uint rows, row0, D, L, N, dPerG, G, flags, base; } p;
const uint HAS_D = 1u, HAS_Z = 2u, HAS_BIAS = 4u, SOFTPLUS = 8u, HAS_INIT = 16u, WRITE_LAST = 32u;

void main() {
    uint r = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (r >= p.rows) return;
    uint R = p.row0 + r, b = R / p.D, d = R % p.D, flags = p.flags;
    float u = TX1(u_t, p.base + r);
    float dt;
    if (DT_RANK > 0u) {
        // dt_proj: W[d, :] · delta[b, :], by 4s where the rows start on 4-element boundaries.
        uint wb = d * DT_RANK, xb = b * DT_RANK;
        float acc = 0.0;
        if (DT_RANK % 4u == 0u) {
            for (uint k = 0; k < DT_RANK; k += 4u) {
                vec4 w = DT_W_F16 ? txh4_(texelFetch(dtw_t, int((wb + k) >> 3)), wb + k) : TXF4(dtw_t, wb + k);
                acc += dot(w, TX4(dl_t, xb + k));
            }
        } else {
            for (uint k = 0; k < DT_RANK; k++) {
                float w = DT_W_F16 ? txh1_(texelFetch(dtw_t, int((wb + k) >> 3)), wb + k) : TXF1(dtw_t, wb + k);
                acc += w * TX1(dl_t, xb + k);
            }
        }
        dt = acc;
    } else {
        dt = TX1(dl_t, p.base + r);
    }
    dt += (flags & HAS_BIAS) != 0u ? TXF1(bias_t, d) : 0.0;
    if ((flags & SOFTPLUS) != 0u) dt = softplus(dt);
    float y = (flags & HAS_D) != 0u ? TXF1(D_t, d) * u : 0.0;
    float du = dt * u;
    uint sb = R * uint(4 * N4), ab = d * uint(4 * N4), bb = (b * p.G + d / p.dPerG) * uint(4 * N4);
    [[unroll]] for (int q = 0; q < N4; q++) {
        vec4 a = TXF4(A_t, ab + 4 * q) * LOG2E;
        vec4 x = (flags & HAS_INIT) != 0u ? TXF4(init_t, sb + 4 * q) : vec4(0.0);
        x = exp2(dt * a) * x + du * TX4(bm_t, bb + 4 * q);
        y += dot(TX4(cm_t, bb + 4 * q), x);
        if ((flags & WRITE_LAST) != 0u) last4[(sb + 4 * q) / 4] = x;
    }
    if ((flags & HAS_Z) != 0u) y *= silu(TX1(z_t, p.base + r));
    st1(o, p.base + r, y);
}
