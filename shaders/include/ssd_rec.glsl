// SSD, recurrent form (decode, and the token-by-token variant): one lane per (batch, head, P row)
// walks the part's tokens TT at a time, keeping its state row S[p, :] in memory (hout, float32):
//   S = exp(dtp A) S + dtp x_p B_t;   y = S · C_t + D x_p;   out = y silu(z)
// For each group of TT tokens the row is read once (from hin for the first group, when given,
// else from hout) and written once; hin and hout may be the same memory.
#include "ssd_common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const int TT = 4; // tokens per pass over the state row
ACT_IN(0, x)
ACT_IN(1, dt)
ACT_IN(2, bm)
ACT_IN(3, cm)
ACT_IN(4, z)
layout(std430, binding = 5) readonly buffer AB { float Ah[]; };
layout(std430, binding = 6) readonly buffer DB { float Dh[]; };
layout(std430, binding = 7) readonly buffer BiasB { float dtbias[]; };
F32_IN(8, hin)
layout(std430, binding = 9) buffer HoS1 { float hout1[]; };
layout(std430, binding = 9) buffer HoS4 { vec4 hout4[]; };
ACT_OUT(10, o)
layout(push_constant) uniform P {
    uint nb, b0, H, G, P, N, tokens, tokStride, xbase, dbase, cbase, flags, hPerG;
} p;
const uint HAS_D = 1u, HAS_Z = 2u, HAS_BIAS = 4u, SOFTPLUS = 8u, HAS_INIT = 16u;

void main() {
    uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (idx >= p.nb * p.H * p.P) return;
    uint pp = idx % p.P, bh = idx / p.P, h = bh % p.H, bl = bh / p.H;
    uint bg = p.b0 + bl, g = h / p.hPerG;
    uint so = ((bg * p.H + h) * p.P + pp) * p.N;
    float a = Ah[h], bias = (p.flags & HAS_BIAS) != 0u ? dtbias[h] : 0.0;
    float dh = (p.flags & HAS_D) != 0u ? Dh[h] : 0.0;
    for (uint t0 = 0; t0 < p.tokens; t0 += TT) {
        float dtp[TT], dec[TT], xv[TT], y[TT];
        uint row[TT];
        [[unroll]] for (int k = 0; k < TT; k++) {
            uint t = min(t0 + k, p.tokens - 1u);
            row[k] = p.tokStride * bl + t;
            float v = ld1(dt, p.dbase + row[k] * p.H + h) + bias;
            if ((p.flags & SOFTPLUS) != 0u) v = softplus(v);
            bool in_ = t0 + k < p.tokens;
            dtp[k] = in_ ? v : 0.0;
            dec[k] = in_ ? exp(v * a) : 1.0;
            xv[k] = ld1(x, p.xbase + (row[k] * p.H + h) * p.P + pp);
            y[k] = dh * xv[k];
        }
        bool fromInit = t0 == 0u;
        for (uint n = 0; n < p.N; n += 4) {
            int nv = nvalid(n, p.N);
            vec4 s;
            if (fromInit) s = (p.flags & HAS_INIT) != 0u ? ldf(hin, so + n, nv) : vec4(0.0);
            else s = VEC ? hout4[(so + n) / 4] : vec4(hout1[so + n], nv > 1 ? hout1[so + n + 1] : 0.0,
                                                       nv > 2 ? hout1[so + n + 2] : 0.0, nv > 3 ? hout1[so + n + 3] : 0.0);
            [[unroll]] for (int k = 0; k < TT; k++) {
                uint bo = p.cbase + (row[k] * p.G + g) * p.N + n;
                s = dec[k] * s + (dtp[k] * xv[k]) * ldv(bm, bo, nv);
                y[k] += dot(s, ldv(cm, bo, nv));
            }
            if (VEC) hout4[(so + n) / 4] = s;
            else [[unroll]] for (int k = 0; k < 4; k++) if (k < nv) hout1[so + n + k] = s[k];
        }
        [[unroll]] for (int k = 0; k < TT; k++) {
            if (t0 + k >= p.tokens) break;
            uint e = p.xbase + (row[k] * p.H + h) * p.P + pp;
            float v = y[k];
            if ((p.flags & HAS_Z) != 0u) v *= silu(ld1(z, e));
            st1(o, e, v);
        }
    }
}
