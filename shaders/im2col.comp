#version 450
// im2col for conv1d with stride 1 and zero padding: cols[b,t,ci·K+k] = x[b,ci,t+k−pad] (0 outside
// [0, L)), x [B,Cin,L], cols [B,Lout,Cin·K]. One invocation per element of cols.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer O { float cols[]; };
layout(push_constant) uniform P { uint B; uint Cin; uint L; uint Lout; uint K; uint pad; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint CK = p.Cin * p.K;
    if (i >= p.B * p.Lout * CK) return;
    uint j = i % CK, bt = i / CK;
    uint ci = j / p.K, k = j % p.K, t = bt % p.Lout, b = bt / p.Lout;
    int s = int(t + k) - int(p.pad);
    cols[i] = (s >= 0 && s < int(p.L)) ? x[(b * p.Cin + ci) * p.L + uint(s)] : 0.0;
}
