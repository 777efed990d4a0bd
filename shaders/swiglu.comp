#version 450
// SwiGLU: out[m, i] = silu(gate[m, i]) * up[m, i] for out [M, I] float32, where gate and up are
// column windows of row-major tensors: gate[m, i] = g[m * gs + g0 + i], up[m, i] = u[m * us + u0 + i]
// (both may be windows of one fused projection [M, 2I]). One element per invocation.
#include "grid.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer G { float g[]; };
layout(std430, binding = 1) readonly buffer U { float u[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint M, I, gs, g0, us, u0; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.M * p.I) return;
    uint m = i / p.I, c = i % p.I;
    o[i] = silu(g[m * p.gs + p.g0 + c]) * u[m * p.us + p.u0 + c];
}
