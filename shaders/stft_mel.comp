#version 450
// Element-wise steps of the mel spectrogram over a batch of row-major matrices, row r of the
// problem being row r mod rpb of matrix r / rpb (rows and matrices have their own strides on each
// side, so that GEMM can work on copies padded to multiples of 4):
//   MODE 0: the power spectrogram |X|^p of complex X (re, im pairs): re² + im² for p = 2, the
//           magnitude for p = 1;
//   MODE 1: the log-mel ln(max(x, floor)), floor = p;
//   MODE 2: a copy.
// Each invocation handles 4 consecutive columns of one row; the grid is folded into 2-D.
layout(local_size_x = 64) in;
layout(constant_id = 0) const int MODE = 0;

#include "grid.glsl"

layout(std430, binding = 0) readonly buffer In2 { vec2 in2[]; };
layout(std430, binding = 0) readonly buffer In1 { float in1[]; };
layout(std430, binding = 1) writeonly buffer Out { float out1[]; };

layout(push_constant) uniform PC {
    uint rows, cols, rpb;      // rows of the problem, columns, rows per matrix
    uint ib, iRS, iBS;         // input: first element (complex for MODE 0), row and matrix strides
    uint ob, oRS, oBS;         // output: the same
    float p;                   // power (MODE 0) or floor (MODE 1)
} pc;

void main() {
    const uint chunks = (pc.cols + 3u) / 4u;
    const uint gid = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (gid >= pc.rows * chunks) return;
    const uint r = gid / chunks, c0 = (gid - r * chunks) * 4u;
    const uint b = r / pc.rpb, j = r - b * pc.rpb;
    const uint ii = pc.ib + b * pc.iBS + j * pc.iRS, oi = pc.ob + b * pc.oBS + j * pc.oRS;
    for (uint c = c0; c < min(c0 + 4u, pc.cols); c++) {
        float v;
        if (MODE == 0) {
            vec2 x = in2[ii + c];
            float q = x.x * x.x + x.y * x.y;
            v = pc.p == 2.0 ? q : (pc.p == 1.0 ? sqrt(q) : pow(sqrt(q), pc.p));
        } else if (MODE == 1) {
            v = log(max(in1[ii + c], pc.p));
        } else {
            v = in1[ii + c];
        }
        out1[oi + c] = v;
    }
}
