#version 450
// Depthwise (groups = channels) non-causal conv1d with zero padding, stride 1:
// out[b,c,t] = bias[c] + Σ_k w[c,k] · x[b,c,t+k−pad], t < Lout = L + 2·pad − K + 1.
// CHANNELS_LAST: x [B,L,C], out [B,Lout,C]; otherwise x [B,C,L], out [B,C,Lout].
// One invocation per output element; bias used when p.has_bias != 0.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool CHANNELS_LAST = true;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint B; uint C; uint L; uint Lout; uint K; uint pad; uint has_bias; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.B * p.C * p.Lout) return;
    uint b, c, t;
    if (CHANNELS_LAST) {
        c = i % p.C;
        uint bt = i / p.C;
        t = bt % p.Lout;
        b = bt / p.Lout;
    } else {
        t = i % p.Lout;
        uint bc = i / p.Lout;
        c = bc % p.C;
        b = bc / p.C;
    }
    float acc = 0.0;
    int t0 = int(t) - int(p.pad);
    for (uint k = 0; k < p.K; k++) {
        int s = t0 + int(k);
        if (s < 0 || s >= int(p.L)) continue;
        uint xi = CHANNELS_LAST ? (b * p.L + uint(s)) * p.C + c : (b * p.C + c) * p.L + uint(s);
        acc += w[c * p.K + k] * x[xi];
    }
    if (p.has_bias != 0) acc += bias[c];
    o[i] = acc;
}
