#version 450
// Polar to complex, the step between a vocoder's linear head and its inverse FFT:
// x [R, C] (C ≥ 2F) holds F log-magnitudes then F phases at the start of each row; out [R, F, 2] (re, im) with
// mag = min(exp(x[r,f]), clip) (EXP) or x[r,f] itself, re = mag·cos(φ), im = mag·sin(φ).
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool EXP = true;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer O { vec2 o[]; };
layout(push_constant) uniform P { uint R; uint F; float clip; uint C; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.R * p.F) return;
    uint r = i / p.F, f = i - r * p.F;
    float m = x[r * p.C + f], ph = x[r * p.C + p.F + f];
    if (EXP) m = min(exp(m), p.clip);
    o[i] = vec2(m * cos(ph), m * sin(ph));
}
