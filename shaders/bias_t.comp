#version 450
// bias.comp's epilogues for CPU devices, C a multiple of 4: one invocation per 4 consecutive
// elements, x, bias, gamma and res read through texel buffers (gpu.Texel, 4 floats per texel;
// lavapipe gathers them where storage-buffer loads are loops over the lanes), out written as vec4s.
// MODE 0: out = x + bias[c]; MODE 1: out = gelu(x + bias[c]); MODE 2: out = res + gamma[c]·(x + bias[c]).
// out may be x or res: each invocation reads its 4 elements before writing them.
#include "grid.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int MODE = 0;
layout(binding = 0) uniform usamplerBuffer xt;
layout(binding = 1) uniform usamplerBuffer bt;
layout(binding = 2) uniform usamplerBuffer gt;
layout(binding = 3) uniform usamplerBuffer rt;
layout(std430, binding = 4) writeonly buffer O { vec4 o4[]; };
layout(push_constant) uniform P { uint n; uint C; uint has_bias; uint has_gamma; } p;

vec4 ld(usamplerBuffer t, uint i) { return uintBitsToFloat(texelFetch(t, int(i))); }

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; // texel index
    if (i >= p.n / 4u) return;
    uint c4 = i % (p.C / 4u);
    vec4 v = ld(xt, i);
    if (p.has_bias != 0) v += ld(bt, c4);
    if (MODE == 1) v = vec4(gelu(v.x), gelu(v.y), gelu(v.z), gelu(v.w));
    if (MODE == 2) v = ld(rt, i) + (p.has_gamma != 0 ? ld(gt, c4) * v : v);
    o4[i] = v;
}
