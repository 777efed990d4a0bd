// SSD, recurrent form (decode, and the token-by-token variant): one lane per (batch, head, RP
// consecutive rows of P) walks the part's tokens TT at a time, keeping its state rows S[p, :] in
// memory (hout, float32):
//   S = exp(dtp A) S + dtp x_p B_t;   y = S · C_t + D x_p;   out = y silu(z)
// Each B_t and C_t value a lane loads serves its RP rows; for each group of TT tokens the rows are
// read once and written once: the first group of the part reads hin (HAS_INIT), zeros (ZERO_INIT)
// or hout (neither: a part continuing the previous one); hin and hout may be the same memory.
#include "ssd_common.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 2) const int TT = 4; // tokens per pass over the state rows
layout(constant_id = 3) const int RP = 4; // rows of P per lane, a multiple of 4
#ifdef SSD_TEXEL
// Texel variant (ssd_rec_t*.comp, CPU devices, one token: TT = 1 and one part): x, dt, B, C, z
// and the state are read through uniform texel buffers (texel_io.glsl), the state written through
// binding 9 (hin and hout may be the same tensor: each lane reads its rows before writing them).
// Requires VEC.
layout(binding = 0) uniform usamplerBuffer x_t;
layout(binding = 1) uniform usamplerBuffer dt_t;
layout(binding = 2) uniform usamplerBuffer bm_t;
layout(binding = 3) uniform usamplerBuffer cm_t;
layout(binding = 4) uniform usamplerBuffer z_t;
#define TEXEL_HALF ACT_F16
#include "texel_io.glsl"
#define LD1(n, i) TX1(n##_t, (i))
#define LDV(n, i, valid) TX4(n##_t, (i))
#else
ACT_IN(0, x)
ACT_IN(1, dt)
ACT_IN(2, bm)
ACT_IN(3, cm)
ACT_IN(4, z)
#define LD1(n, i) ld1(n, i)
#define LDV(n, i, valid) ldv(n, i, valid)
#endif
layout(std430, binding = 5) readonly buffer AB { float Ah[]; };
layout(std430, binding = 6) readonly buffer DB { float Dh[]; };
layout(std430, binding = 7) readonly buffer BiasB { float dtbias[]; };
#ifdef SSD_TEXEL
layout(binding = 8) uniform usamplerBuffer hin_t;
layout(std430, binding = 9) writeonly buffer HoS1 { float hout1[]; };
layout(std430, binding = 9) writeonly buffer HoS4 { vec4 hout4[]; };
#else
F32_IN(8, hin)
layout(std430, binding = 9) buffer HoS1 { float hout1[]; };
layout(std430, binding = 9) buffer HoS4 { vec4 hout4[]; };
#endif
ACT_OUT(10, o)
layout(push_constant) uniform P {
    uint nb, b0, H, G, P, N, tokens, tokStride, xbase, dbase, cbase, flags, hPerG;
} p;
const uint HAS_D = 1u, HAS_Z = 2u, HAS_BIAS = 4u, SOFTPLUS = 8u, HAS_INIT = 16u, ZERO_INIT = 32u;

void main() {
    uint idx = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint ptiles = (p.P + RP - 1) / RP;
    if (idx >= p.nb * p.H * ptiles) return;
    uint pt = idx % ptiles, bh = idx / ptiles, h = bh % p.H, bl = bh / p.H;
    uint bg = p.b0 + bl, g = h / p.hPerG, p0 = pt * RP;
    uint so = ((bg * p.H + h) * p.P) * p.N; // this (b, h)'s state
    float a = Ah[h], bias = (p.flags & HAS_BIAS) != 0u ? dtbias[h] : 0.0;
    float dh = (p.flags & HAS_D) != 0u ? Dh[h] : 0.0;
    for (uint t0 = 0; t0 < p.tokens; t0 += TT) {
        float dtp[TT], dec[TT];
        vec4 xv[TT][RP / 4], y[TT][RP / 4];
        uint row[TT];
        [[unroll]] for (int k = 0; k < TT; k++) {
            uint t = min(t0 + k, p.tokens - 1u);
            row[k] = p.tokStride * bl + t;
            float v = LD1(dt, p.dbase + row[k] * p.H + h) + bias;
            if ((p.flags & SOFTPLUS) != 0u) v = softplus(v);
            dtp[k] = v;
            dec[k] = exp(v * a);
            [[unroll]] for (int q = 0; q < RP / 4; q++) {
                xv[k][q] = LDV(x, p.xbase + (row[k] * p.H + h) * p.P + p0 + 4 * q, nvalid(p0 + 4 * q, p.P));
                y[k][q] = dh * xv[k][q];
            }
        }
        bool fromInit = t0 == 0u;
        for (uint n = 0; n < p.N; n += 4) {
            int nv = nvalid(n, p.N);
            vec4 s[RP];
            [[unroll]] for (int r = 0; r < RP; r++) {
                uint e = so + min(p0 + r, p.P - 1u) * p.N + n;
#ifdef SSD_TEXEL
                s[r] = (p.flags & ZERO_INIT) != 0u ? vec4(0.0) : TXF4(hin_t, e); // hin, or hout itself
#else
                if (fromInit && (p.flags & HAS_INIT) != 0u) s[r] = ldf(hin, e, nv);
                else if (fromInit && (p.flags & ZERO_INIT) != 0u) s[r] = vec4(0.0);
                else s[r] = VEC ? hout4[e / 4] : vec4(hout1[e], nv > 1 ? hout1[e + 1] : 0.0, nv > 2 ? hout1[e + 2] : 0.0, nv > 3 ? hout1[e + 3] : 0.0);
#endif
            }
            [[unroll]] for (int k = 0; k < TT; k++) {
                if (t0 + k >= p.tokens) break; // uniform: every lane has the same tokens
                uint bo = p.cbase + (row[k] * p.G + g) * p.N + n;
                vec4 bv = LDV(bm, bo, nv), cv = LDV(cm, bo, nv);
                [[unroll]] for (int r = 0; r < RP; r++) {
                    s[r] = dec[k] * s[r] + (dtp[k] * xv[k][r / 4][r % 4]) * bv;
                    y[k][r / 4][r % 4] += dot(s[r], cv);
                }
            }
            [[unroll]] for (int r = 0; r < RP; r++) {
                if (p0 + r >= p.P) break;
                uint e = so + (p0 + r) * p.N + n;
                if (VEC) hout4[e / 4] = s[r];
                else [[unroll]] for (int c = 0; c < 4; c++) if (c < nv) hout1[e + c] = s[r][c];
            }
        }
        [[unroll]] for (int k = 0; k < TT; k++) {
            if (t0 + k >= p.tokens) break;
            uint e = p.xbase + (row[k] * p.H + h) * p.P + p0;
            [[unroll]] for (int q = 0; q < RP / 4; q++) {
                int pv = nvalid(p0 + 4 * q, p.P);
                if (pv == 0) break;
                vec4 v = y[k][q];
                if ((p.flags & HAS_Z) != 0u) {
                    vec4 zv = LDV(z, e + 4 * q, pv);
                    [[unroll]] for (int c = 0; c < 4; c++) v[c] *= silu(zv[c]);
                }
                if (VEC) st4(o, (e + 4 * q) / 4, v);
                else [[unroll]] for (int c = 0; c < 4; c++) if (c < pv) st1(o, e + 4 * q + c, v[c]);
            }
        }
    }
}
