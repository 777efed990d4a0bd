// SSD step 1: dtp = softplus(dt + dt_bias) (or not), and G = the inclusive cumulative sum of
// dtp * A[h] inside each chunk of Q steps, for every (b, h); steps past L get dtp = 0 (G flat).
// One invocation per (b, h, chunk), 4 steps at a time. dt is bound whole ([B, L, H]).
#include "ssd_common.glsl"
layout(local_size_x_id = 0) in;
ACT_IN(0, dt)
layout(std430, binding = 1) readonly buffer BiasB { float dtbias[]; };
layout(std430, binding = 2) readonly buffer AB { float Ah[]; };
layout(std430, binding = 3) writeonly buffer DtpB { vec4 wdtp[]; };
layout(std430, binding = 4) writeonly buffer GB { vec4 wG[]; };
layout(push_constant) uniform P { uint B, L, H, Q, nch, Lp, flags; } p;
const uint HAS_BIAS = 1u, SOFTPLUS = 2u;

void main() {
    uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (idx >= p.B * p.H * p.nch) return;
    uint c = idx % p.nch, bh = idx / p.nch, h = bh % p.H, b = bh / p.H;
    float bias = (p.flags & HAS_BIAS) != 0u ? dtbias[h] : 0.0, a = Ah[h], g = 0.0;
    uint t0 = c * p.Q, w = (bh * p.Lp + t0) / 4;
    for (uint i = 0; i < p.Q; i += 4) {
        vec4 dv, gv;
        [[unroll]] for (int k = 0; k < 4; k++) {
            uint t = t0 + i + k;
            float v = 0.0;
            if (t < p.L) {
                v = ld1(dt, (b * p.L + t) * p.H + h) + bias;
                if ((p.flags & SOFTPLUS) != 0u) v = softplus(v);
            }
            g += v * a;
            dv[k] = v;
            gv[k] = g;
        }
        wdtp[w + i / 4] = dv;
        wG[w + i / 4] = gv;
    }
}
