#version 450
#extension GL_EXT_control_flow_attributes : require
// Depthwise conv1d (see dwconv.comp), channels last (x [B,L,C], out [B,Lout,C]) with C a multiple
// of 4, for CPU devices: x, w and bias are read through texel buffers (gpu.Texel, 4 floats per
// texel), which lavapipe gathers where a storage-buffer load is a loop over the lanes. One
// invocation owns 4 channels of TT consecutive outputs. With the taps known at build time
// (0 < KW ≤ MAXK; then TT must be TTF) it loads its 4×KW weights once and slides over x, fetching
// each of its TT + KW − 1 input 4-vectors once (every loop has literal bounds, so that the driver
// unrolls it whole after specialization); otherwise it loops over the p.K taps and fetches each
// input 4-vector once per tap.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int TT = 4; // outputs per invocation
layout(constant_id = 2) const int KW = 0; // taps (p.K) when known at build time, else 0
const int MAXK = 8, TTF = 16;
layout(binding = 0) uniform usamplerBuffer xt;
layout(binding = 1) uniform usamplerBuffer wt;
layout(binding = 2) uniform usamplerBuffer biast;
layout(std430, binding = 3) writeonly buffer O { vec4 o4[]; };
layout(push_constant) uniform P { uint B; uint C; uint L; uint Lout; uint K; uint pad; uint has_bias; } p;

float wAt(uint i) { return uintBitsToFloat(texelFetch(wt, int(i >> 2))[i & 3u]); }

void main() {
    uint C4 = p.C / 4, tiles = (p.Lout + TT - 1) / TT;
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.B * tiles * C4) return;
    uint c4 = i % C4, bt = i / C4, tile = bt % tiles, b = bt / tiles;
    uint t0 = tile * TT, c = 4 * c4;
    vec4 b4 = p.has_bias != 0 ? uintBitsToFloat(texelFetch(biast, int(c4))) : vec4(0.0);
    if (KW > 0) {
        vec4 w[MAXK], acf[TTF];
        [[unroll]] for (int k = 0; k < MAXK; k++)
            w[k] = k < KW ? vec4(wAt(c * KW + k), wAt((c + 1) * KW + k), wAt((c + 2) * KW + k), wAt((c + 3) * KW + k)) : vec4(0.0);
        [[unroll]] for (int u = 0; u < TTF; u++) acf[u] = b4;
        [[unroll]] for (int j = 0; j < TTF + MAXK - 1; j++) {
            if (j < TTF + KW - 1) {
                int s = int(t0) + j - int(p.pad);
                vec4 xv = uintBitsToFloat(texelFetch(xt, int((b * p.L + uint(clamp(s, 0, int(p.L) - 1))) * C4 + c4)));
                if (s < 0 || s >= int(p.L)) xv = vec4(0.0);
                [[unroll]] for (int u = 0; u < TTF; u++)
                    if (j - u >= 0 && j - u < KW) acf[u] += w[max(j - u, 0)] * xv;
            }
        }
        [[unroll]] for (int u = 0; u < TTF; u++)
            if (t0 + uint(u) < p.Lout) o4[(b * p.Lout + t0 + uint(u)) * C4 + c4] = acf[u];
        return;
    }
    vec4 acc[TT];
    [[unroll]] for (int u = 0; u < TT; u++) acc[u] = b4;
    // Input row s = t0 + u + k - pad feeds output u at tap k.
    for (uint k = 0; k < p.K; k++) {
        vec4 wk = vec4(wAt(c * p.K + k), wAt((c + 1) * p.K + k), wAt((c + 2) * p.K + k), wAt((c + 3) * p.K + k));
        [[unroll]] for (int u = 0; u < TT; u++) {
            int s = int(t0 + uint(u) + k) - int(p.pad);
            if (s >= 0 && s < int(p.L))
                acc[u] += wk * uintBitsToFloat(texelFetch(xt, int((b * p.L + uint(s)) * C4 + c4)));
        }
    }
    [[unroll]] for (int u = 0; u < TT; u++)
        if (t0 + uint(u) < p.Lout) o4[(b * p.Lout + t0 + uint(u)) * C4 + c4] = acc[u];
}
