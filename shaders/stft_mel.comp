#version 450
// Element-wise steps of the mel spectrogram: MODE 0 the power spectrogram |X|^p of a complex
// spectrum (re, im pairs) — re² + im² for p = 2, the magnitude for p = 1 —, MODE 1 the log-mel
// ln(max(x, floor)), MODE 2 a copy to element oBase of the output (placing a part computed in a
// scratch tensor). Four outputs per invocation; a 1-D grid folded into 2-D.
layout(local_size_x = 64) in;
layout(constant_id = 0) const int MODE = 0;

#include "grid.glsl"

layout(std430, binding = 0) readonly buffer In2 { vec2 in2[]; };
layout(std430, binding = 0) readonly buffer In1 { float in1[]; };
layout(std430, binding = 1) writeonly buffer Out { float out1[]; };

layout(push_constant) uniform PC {
    uint n;      // elements
    float p;     // power (MODE 0) or floor (MODE 1)
    uint iBase;  // first input element (complex for MODE 0)
    uint oBase;  // first output element
} pc;

void main() {
    uint i0 = (linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x) * 4u;
    for (uint k = 0; k < 4u; k++) {
        uint i = i0 + k;
        if (i >= pc.n) break;
        float v;
        if (MODE == 0) {
            vec2 c = in2[pc.iBase + i];
            float q = c.x * c.x + c.y * c.y;
            v = pc.p == 2.0 ? q : (pc.p == 1.0 ? sqrt(q) : pow(sqrt(q), pc.p));
        } else if (MODE == 1) {
            v = log(max(in1[pc.iBase + i], pc.p));
        } else {
            v = in1[pc.iBase + i];
        }
        out1[pc.oBase + i] = v;
    }
}
