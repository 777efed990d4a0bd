#version 450
// Dense conv1d (groups = 1), stride 1, zero padding, computed directly as a GEMM over the
// reduction index (k, ci) without materialising im2col:
// out[b,co,t] = bias[co] + Σ_{ci,k} w[co,ci,k] · x[b,ci,t+k−pad], x [B,Cin,L], w [Cout,Cin,K],
// t < Lout = L + 2·pad − K + 1. TIME_MAJOR writes out [B,Lout,Cout], otherwise [B,Cout,Lout].
// A workgroup of TT×TC invocations computes a TT (time) × TC (output channel) tile, each
// invocation one output; per (k, chunk of TC input channels) the x and w tiles go through shared
// memory. Grid: x = time tiles, y = channel tiles, z = batch.
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const bool TIME_MAJOR = true;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer Bi { float bias[]; };
layout(std430, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint Cin; uint Cout; uint L; uint Lout; uint K; uint pad; uint has_bias; } p;
const uint TT = gl_WorkGroupSize.x, TC = gl_WorkGroupSize.y;
shared float xs[TC][TT]; // [ci in chunk][t]
shared float ws[TC][TC]; // [co][ci in chunk]

void main() {
    uint lt = gl_LocalInvocationID.x, lc = gl_LocalInvocationID.y;
    uint t = gl_WorkGroupID.x * TT + lt, co = gl_WorkGroupID.y * TC + lc, b = gl_WorkGroupID.z;
    float acc = 0.0;
    for (uint k = 0; k < p.K; k++) {
        for (uint c0 = 0; c0 < p.Cin; c0 += TC) {
            // x tile: xs[j][lt] = x[b, c0+j, t+k−pad] with j = lc
            uint ci = c0 + lc;
            int s = int(t + k) - int(p.pad);
            float xv = 0.0;
            if (ci < p.Cin && s >= 0 && s < int(p.L) && t < p.Lout) xv = x[(b * p.Cin + ci) * p.L + uint(s)];
            xs[lc][lt] = xv;
            // w tile: ws[j][i] = w[co0+j, c0+i, k], loaded by the TT×TC invocations in strides
            for (uint e = lc * TT + lt; e < TC * TC; e += TT * TC) {
                uint j = e / TC, i = e % TC;
                uint cw = gl_WorkGroupID.y * TC + j, cin = c0 + i;
                ws[j][i] = (cw < p.Cout && cin < p.Cin) ? w[(cw * p.Cin + cin) * p.K + k] : 0.0;
            }
            barrier();
            for (uint i = 0; i < TC; i++) acc += ws[lc][i] * xs[i][lt];
            barrier();
        }
    }
    if (t >= p.Lout || co >= p.Cout) return;
    if (p.has_bias != 0) acc += bias[co];
    o[TIME_MAJOR ? (b * p.Lout + t) * p.Cout + co : (b * p.Cout + co) * p.Lout + t] = acc;
}
