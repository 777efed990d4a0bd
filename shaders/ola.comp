#version 450
// Windowed overlap-add with the squared-window envelope, as torch.istft and Vocos's ISTFT after
// their inverse FFT: the signal of `frames` frames (frame m starts at m·hop) at padded position
// pos is Σ_m w[pos−m·hop]·f[m, pos−m·hop] / Σ_m w[pos−m·hop]² over the frames covering pos.
// Binding 0 holds frames [mlo, mlo+mc) of each of `rows` rows ([rows, mc, n], unwindowed inverse
// FFTs); binding 2 receives y[r·yStride + yOff + i] for positions pos = p0 + i, i < cnt. Every
// covering frame must be in binding 0 and the envelope nonzero (the caller checks both).
// One invocation per output sample (a gather: no two invocations write the same sample).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer FR { float fr[]; };
layout(std430, binding = 1) readonly buffer Win { float win[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint n, hop, frames, mlo, mc, rows, cnt, p0, yStride, yOff; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.rows * p.cnt) return;
    uint r = i / p.cnt, j = i - r * p.cnt;
    uint pos = p.p0 + j;
    uint lo = pos >= p.n ? (pos - p.n) / p.hop + 1u : 0u;
    uint hi = min(pos / p.hop, p.frames - 1u);
    float acc = 0.0, env = 0.0;
    for (uint m = lo; m <= hi; m++) {
        uint k = pos - m * p.hop;
        float wk = win[k];
        acc += wk * fr[(r * p.mc + (m - p.mlo)) * p.n + k];
        env += wk * wk;
    }
    y[r * p.yStride + p.yOff + j] = acc / env;
}
