#version 450
// Batched transpose of a column window: out[b, c, r] = x[(b * R + r) * xst + x0 + c] for
// out [B, C, R] float32 (x's rows b*R .. b*R+R-1 hold batch b; the window is C columns at x0 of
// rows of xst). Workgroup (gx, gy, b) moves an 8x8 tile through shared memory, so that both the
// reads (along c) and the writes (along r) of neighbouring invocations are contiguous.
layout(local_size_x = 8, local_size_y = 8) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform P { uint B, R, C, xst, x0; } p;
shared float tile[8][9];

void main() {
    uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y, b = gl_WorkGroupID.z;
    uint c0 = gl_WorkGroupID.x * 8, r0 = gl_WorkGroupID.y * 8;
    uint r = r0 + ly, c = c0 + lx;
    if (r < p.R && c < p.C) tile[ly][lx] = x[(b * p.R + r) * p.xst + p.x0 + c];
    barrier();
    uint oc = c0 + ly, orr = r0 + lx;
    if (oc < p.C && orr < p.R) o[(b * p.C + oc) * p.R + orr] = tile[lx][ly];
}
