#version 450
#extension GL_EXT_shader_16bit_storage : require
// Widens a float16 weight to float32 (Linear's GEMM path for many rows): out[i] = float(x[i]),
// one element per invocation.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { float16_t x[]; };
layout(std430, binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint n; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i < p.n) o[i] = float(x[i]);
}
