#version 450
// Device ceiling: memory bandwidth. Each invocation copies ELEMS elements of WIDTH floats (1, 2 or
// 4: float, vec2, vec4), element k of workgroup g's run at g·local·ELEMS + k·local + lane, so that
// neighbouring lanes touch neighbouring elements. With REDUCE it reads them and writes only their
// sum (at g·local + lane): reads cost less than writes on some devices (a CPU's write-allocate
// reads each written line first), so ops that read more than they write can beat a plain copy.
// bench.MeasureCeilings keeps the best variant.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint WIDTH = 4;
layout(constant_id = 2) const uint ELEMS = 1;
layout(constant_id = 3) const bool REDUCE = false;
// One buffer seen as floats, vec2s or vec4s (aliased bindings; only the WIDTH view is used).
layout(std430, binding = 0) readonly buffer Src1 { float src1[]; };
layout(std430, binding = 0) readonly buffer Src2 { vec2 src2[]; };
layout(std430, binding = 0) readonly buffer Src4 { vec4 src4[]; };
layout(std430, binding = 1) writeonly buffer Dst1 { float dst1[]; };
layout(std430, binding = 1) writeonly buffer Dst2 { vec2 dst2[]; };
layout(std430, binding = 1) writeonly buffer Dst4 { vec4 dst4[]; };
layout(push_constant) uniform P { uint n; } p; // elements of WIDTH floats
void main() {
    uint lane = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint base = linear_group() * gl_WorkGroupSize.x * ELEMS + gl_LocalInvocationID.x;
    if (REDUCE) {
        vec4 acc = vec4(0);
        for (uint k = 0; k < ELEMS; k++) {
            uint i = base + k * gl_WorkGroupSize.x;
            if (i < p.n) acc += src4[i];
        }
        if (lane < (p.n + ELEMS - 1) / ELEMS) dst4[lane] = acc;
        return;
    }
    for (uint k = 0; k < ELEMS; k++) {
        uint i = base + k * gl_WorkGroupSize.x;
        if (i < p.n) {
            if (WIDTH == 4) dst4[i] = src4[i];
            else if (WIDTH == 2) dst2[i] = src2[i];
            else dst1[i] = src1[i];
        }
    }
}
