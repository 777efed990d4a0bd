#version 450
#extension GL_EXT_control_flow_attributes : require
// Element-wise ops over n float32 values: out = OP(x[, y]). Each invocation handles 4 elements
// (one vec4 when VEC, i.e. n is a multiple of 4; otherwise 4 bounds-checked scalars).
// OP: 0 add, 1 mul, 2 scale (alpha * x), 3 exp, 4 silu, 5 sigmoid, 6 softplus, 7 gelu (exact, erf).
// out may be x or y (in place).
#include "grid.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int OP = 0;
layout(constant_id = 2) const bool VEC = false;
layout(std430, binding = 0) readonly buffer X1 { float x1[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer Y1 { float y1[]; };
layout(std430, binding = 1) readonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 2) writeonly buffer O1 { float o1[]; };
layout(std430, binding = 2) writeonly buffer O4 { vec4 o4[]; };
layout(push_constant) uniform P { uint n; float alpha; } p;

float apply(float a, float b) {
    switch (OP) {
    case 0: return a + b;
    case 1: return a * b;
    case 2: return p.alpha * a;
    case 3: return exp(a);
    case 4: return silu(a);
    case 5: return sigmoid(a);
    case 6: return softplus(a);
    default: return gelu(a);
    }
}

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (VEC) {
        if (4 * i >= p.n) return;
        vec4 a = x4[i], b = OP <= 1 ? y4[i] : vec4(0.0), r;
        [[unroll]] for (int c = 0; c < 4; c++) r[c] = apply(a[c], b[c]);
        o4[i] = r;
    } else {
        [[unroll]] for (int c = 0; c < 4; c++) {
            uint j = 4 * i + c;
            if (j < p.n) o1[j] = apply(x1[j], OP <= 1 ? y1[j] : 0.0);
        }
    }
}
