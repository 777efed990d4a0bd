#version 450
#extension GL_EXT_control_flow_attributes : require
#define TEXEL_IO 1
// One step (L = 1, the decode update) of the causal depthwise conv1d of conv1d.glsl, for CPU
// devices: x, the weight, the bias and the state are read through texel buffers (gpu.Texel; x
// float32 or float16 by ACT_F16, the rest float32), which lavapipe gathers where storage-buffer
// loads are loops over the lanes. One invocation per row r = b*D + d:
//   out[r] = act(bias[d] + sum_{k<W-1} w[d, k] * st[r, k] + w[d, W-1] * x[r]);  st[r] = (st[r, 1:], x[r])
// The state is bound twice (read: binding 3, write: binding 5; the same memory when updated in
// place: each invocation reads its row before writing it).
#include "grid.glsl"
#include "math.glsl"
#include "ssm_io.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int T = 4; // unused (conv1d's constant ids)
layout(constant_id = 2) const int W = 4; // kernel width, 1..8
const int S = W - 1;
ACT_IN(0, x)
layout(binding = 1) uniform usamplerBuffer wT;
layout(binding = 2) uniform usamplerBuffer biasT;
layout(binding = 3) uniform usamplerBuffer initT;
ACT_OUT(4, o)
layout(std430, binding = 5) writeonly buffer Fin { float fin[]; };
layout(push_constant) uniform P { uint rows, D, L, ntiles, tpi, ngroups, flags, xbase, row0; } p;
const uint HAS_BIAS = 1u, HAS_INIT = 2u, SILU = 4u, WRITE_FINAL = 8u;

float f32at(usamplerBuffer t, uint i) { return uintBitsToFloat(texelFetch(t, int(i >> 2))[i & 3u]); }

void main() {
    uint r = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (r >= p.rows) return;
    uint R = p.row0 + r, d = R % p.D;
    float st[8];
    [[unroll]] for (int m = 0; m < 8; m++) st[m] = 0.0;
    if ((p.flags & HAS_INIT) != 0u)
        [[unroll]] for (int m = 0; m < S; m++) st[m] = f32at(initT, R * uint(S) + uint(m));
    float xv = ld1(x, p.xbase + r);
    float acc = (p.flags & HAS_BIAS) != 0u ? f32at(biasT, d) : 0.0;
    [[unroll]] for (int k = 0; k < W; k++) acc += f32at(wT, d * uint(W) + uint(k)) * (k < S ? st[k] : xv);
    st1(o, p.xbase + r, (p.flags & SILU) != 0u ? silu(acc) : acc);
    if ((p.flags & WRITE_FINAL) != 0u) {
        [[unroll]] for (int m = 0; m < S; m++) fin[R * uint(S) + uint(m)] = m + 1 < S ? st[m + 1] : xv;
    }
}
