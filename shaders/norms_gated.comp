#version 450
// Gated RMSNorm over groups of G columns of rows of D columns, one workgroup of LOCAL invocations
// per (row, group). x and g are column windows of row-major tensors (x[m, c] = xs[m * xst + x0 + c],
// likewise g); the weight has wlen elements: D (indexed by the column) or G (shared by every group,
// indexed by the column within the group); out [M, D] float32.
//   BEFORE (fla FusedRMSNormGated): out = x / rms_G(x) * w * silu(g)
//   else   (Mamba-2 RMSNormGated, norm_before_gate=False): z = x * silu(g); out = z / rms_G(z) * w
// with rms_G(v) = sqrt(mean over the group of v^2 + eps).
#include "grid.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool BEFORE = true;
layout(std430, binding = 0) readonly buffer Xs { float xs[]; };
layout(std430, binding = 1) readonly buffer Gs { float gs[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint M, D, G, xst, x0, gst, g0, wlen; float eps; } p;
shared float partial[gl_WorkGroupSize.x];

float val(uint xi, uint gi) {
    float v = xs[xi];
    return BEFORE ? v : v * silu(gs[gi]);
}

void main() {
    uint ng = p.D / p.G;
    uint idx = linear_group();
    if (idx >= p.M * ng) return; // uniform per workgroup
    uint m = idx / ng, c0 = (idx % ng) * p.G;
    uint t = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x;
    uint xb = m * p.xst + p.x0 + c0, gb = m * p.gst + p.g0 + c0;
    float acc = 0.0;
    for (uint c = t; c < p.G; c += L) {
        float v = val(xb + c, gb + c);
        acc += v * v;
    }
    partial[t] = acc;
    barrier();
    for (uint s = L / 2; s > 0; s >>= 1) {
        if (t < s) partial[t] += partial[t + s];
        barrier();
    }
    float inv = inversesqrt(partial[0] / float(p.G) + p.eps);
    for (uint c = t; c < p.G; c += L) {
        float y = val(xb + c, gb + c) * inv * w[p.wlen == p.D ? c0 + c : c];
        if (BEFORE) y *= silu(gs[gb + c]);
        o[m * p.D + c0 + c] = y;
    }
}
