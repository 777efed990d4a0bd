#version 450
// Device ceiling: read bandwidth through a texel buffer (copy.comp's REDUCE variant with the
// source bound as a uniform texel buffer of RGBA32UI texels, as the ops that read their weights
// so do). Each invocation reads ELEMS texels, texel k of workgroup g's run at g·local·ELEMS +
// k·local + lane, and writes their sum as a vec4 (at g·local + lane).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint WIDTH = 4; // always 4 (copy.comp's constant ids)
layout(constant_id = 2) const uint ELEMS = 4;
layout(binding = 0) uniform usamplerBuffer src;
layout(std430, binding = 1) writeonly buffer Dst4 { vec4 dst4[]; };
layout(push_constant) uniform P { uint n; } p; // texels
void main() {
    uint lane = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint base = linear_group() * gl_WorkGroupSize.x * ELEMS + gl_LocalInvocationID.x;
    vec4 acc = vec4(0);
    for (uint k = 0; k < ELEMS; k++) {
        uint i = base + k * gl_WorkGroupSize.x;
        if (i < p.n) acc += uintBitsToFloat(texelFetch(src, int(i)));
    }
    if (lane < (p.n + ELEMS - 1) / ELEMS) dst4[lane] = acc;
}
