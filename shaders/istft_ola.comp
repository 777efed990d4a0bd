#version 450
// Overlap-add of the iSTFT as a gather: every output sample sums the windowed frames that cover
// it (written by fft.comp in MODE 1) and divides by the overlap-added squared window, so no two
// invocations write the same sample and no atomics are needed.
//
// Binding 0 holds frames [mlo, mlo + mc) of each row ([rows, mc, n] at fbBase); binding 1 the
// squared window wsq[n] and its hop-periodic sum per[hop] (per[r] = Σ_k wsq[r + k·hop], the
// envelope wherever every frame that could cover a sample exists); binding 2 receives samples
// [i0, i0 + cnt) of each row of y at padded positions p0 + i. Positions at or past the end of the
// overlap-added signal (total) are zeros, as torch pads them.
layout(local_size_x_id = 0) in;

#include "grid.glsl"

layout(std430, binding = 0) readonly buffer FB { float fb[]; };
layout(std430, binding = 1) readonly buffer Tab { float tab[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform PC {
    uint n, hop, frames; // n_fft, hop, frames per row
    uint mlo, mc;        // frames held in binding 0 per row
    uint rows, cnt;      // rows and samples per row in this dispatch
    uint p0;             // padded position of the first sample
    uint total;          // n + hop (frames − 1)
    uint fbBase, yBase, yStride, i0;
} pc;

void main() {
    uint gid = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (gid >= pc.rows * pc.cnt) return;
    uint r = gid / pc.cnt, i = gid - r * pc.cnt;
    uint pos = pc.p0 + i;
    float v = 0.0;
    if (pos < pc.total) {
        uint lo = pos >= pc.n ? (pos - pc.n) / pc.hop + 1u : 0u;
        uint hi = min(pos / pc.hop, pc.frames - 1u);
        bool interior = pos + pc.hop >= pc.n && pos / pc.hop <= pc.frames - 1u;
        float acc = 0.0, env = 0.0;
        uint base = pc.fbBase + r * pc.mc * pc.n;
        for (uint m = lo; m <= hi; m++) {
            uint k = pos - m * pc.hop;
            acc += fb[base + (m - pc.mlo) * pc.n + k];
            if (!interior) env += tab[k];
        }
        if (interior) env = tab[pc.n + pos % pc.hop];
        v = acc / env;
    }
    y[pc.yBase + r * pc.yStride + pc.i0 + i] = v;
}
