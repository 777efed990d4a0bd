#version 450
#extension GL_EXT_control_flow_attributes : require
// Element-wise activations with a parameter over rows of D float32 values ([R, D]):
//   OP 0: out[i] = logsigmoid(x[i]) / div          (GLA's gate: logsigmoid(gk) / normalizer)
//   OP 1: out[i] = softplus(x[i] + bias[i % D])    (Mamba's dt: softplus(dt + dt_bias))
// logsigmoid(v) = min(v, 0) - log1p(exp(-|v|)); softplus as torch (v itself above 20).
// Each invocation handles 4 consecutive columns (one vec4 when VEC: D a multiple of 4);
// workgroups tile the columns in x and take rows y, y + gridY, ... out may be x (in place).
#include "math.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int OP = 0;
layout(constant_id = 2) const bool VEC = false;
layout(std430, binding = 0) readonly buffer X1 { float x1[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer B { float bias[]; };
layout(std430, binding = 2) writeonly buffer O1 { float o1[]; };
layout(std430, binding = 2) writeonly buffer O4 { vec4 o4[]; };
layout(push_constant) uniform P { uint R, D; float div; } p;

float act(float v, float b) {
    return OP == 0 ? (min(v, 0.0) - log1p_pos(exp(-abs(v)))) / p.div : softplus(v + b);
}

void main() {
    uint c = 4 * gl_GlobalInvocationID.x;
    if (c >= p.D) return;
    vec4 b = vec4(0.0);
    if (OP == 1) [[unroll]] for (uint k = 0; k < 4; k++) b[k] = c + k < p.D ? bias[c + k] : 0.0;
    for (uint r = gl_WorkGroupID.y; r < p.R; r += gl_NumWorkGroups.y) {
        uint i = r * p.D + c;
        if (VEC) {
            vec4 v = x4[i / 4], y;
            [[unroll]] for (int k = 0; k < 4; k++) y[k] = act(v[k], b[k]);
            o4[i / 4] = y;
        } else {
            [[unroll]] for (uint k = 0; k < 4; k++)
                if (c + k < p.D) o1[i + k] = act(x1[i + k], b[k]);
        }
    }
}
