#version 450
#extension GL_EXT_control_flow_attributes : require
// SwiGLU: out[m, i] = silu(gate[m, i]) * up[m, i] for out [M, I] float32, where gate and up are
// column windows of row-major tensors: gate[m, i] = g[m * gs + g0 + i], up[m, i] = u[m * us + u0 + i]
// (both may be windows of one fused projection [M, 2I]). Each invocation handles 4 consecutive
// columns (one vec4 when VEC: I, gs, g0, us, u0 multiples of 4); workgroups tile the columns in x
// and take rows y, y + gridY, ...
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool VEC = false;
layout(std430, binding = 0) readonly buffer G1 { float g1[]; };
layout(std430, binding = 0) readonly buffer G4 { vec4 g4[]; };
layout(std430, binding = 1) readonly buffer U1 { float u1[]; };
layout(std430, binding = 1) readonly buffer U4 { vec4 u4[]; };
layout(std430, binding = 2) writeonly buffer O1 { float o1[]; };
layout(std430, binding = 2) writeonly buffer O4 { vec4 o4[]; };
layout(push_constant) uniform P { uint M, I, gs, g0, us, u0; } p;

void main() {
    uint c = 4 * gl_GlobalInvocationID.x;
    if (c >= p.I) return;
    for (uint m = gl_WorkGroupID.y; m < p.M; m += gl_NumWorkGroups.y) {
        uint gi = m * p.gs + p.g0 + c, ui = m * p.us + p.u0 + c, oi = m * p.I + c;
        if (VEC) {
            vec4 a = g4[gi / 4], b = u4[ui / 4], r;
            [[unroll]] for (int k = 0; k < 4; k++) r[k] = silu(a[k]) * b[k];
            o4[oi / 4] = r;
        } else {
            [[unroll]] for (uint k = 0; k < 4; k++)
                if (c + k < p.I) o1[oi + k] = silu(g1[gi + k]) * u1[ui + k];
        }
    }
}
