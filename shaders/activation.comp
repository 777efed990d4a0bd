#version 450
// Element-wise activations with a parameter, over n float32 values (rows of D columns):
//   OP 0: out[i] = logsigmoid(x[i]) / div          (GLA's gate: logsigmoid(gk) / normalizer)
//   OP 1: out[i] = softplus(x[i] + bias[i % D])    (Mamba's dt: softplus(dt + dt_bias))
// logsigmoid(v) = min(v, 0) - log1p(exp(-|v|)); softplus as torch (v itself above 20).
// out may be x (in place).
#include "grid.glsl"
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int OP = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer B { float bias[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint n, D; float div; } p;

void main() {
    uint i = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (i >= p.n) return;
    float v = x[i];
    if (OP == 0) {
        o[i] = (min(v, 0.0) - log1p_pos(exp(-abs(v)))) / p.div;
    } else {
        o[i] = softplus(v + bias[i % p.D]);
    }
}
