#version 450
// Device ceiling: copy bandwidth. Each invocation copies one vec4 (16 bytes read, 16 written).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Src { vec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };
layout(push_constant) uniform P { uint n; } p; // vec4 elements
void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i < p.n) dst[i] = src[i];
}
