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

// Each invocation writes SPI consecutive samples of one row, tracking pos / hop and pos % hop
// incrementally (lavapipe runs a vector integer division as one division per lane).
layout(constant_id = 1) const uint SPI = 8;

void main() {
    uint gid = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    uint chunks = (pc.cnt + SPI - 1u) / SPI;
    if (gid >= pc.rows * chunks) return;
    uint r = gid / chunks, c = gid - r * chunks;
    uint i0 = c * SPI;
    uint pos0 = pc.p0 + i0;
    uint q = pos0 / pc.hop, rm = pos0 - q * pc.hop;    // pos = q·hop + rm
    uint nq = pc.n / pc.hop, nr = pc.n - nq * pc.hop;  // n = nq·hop + nr
    uint base = pc.fbBase + r * pc.mc * pc.n;
    for (uint s = 0; s < SPI; s++) {
        uint i = i0 + s;
        if (i >= pc.cnt) break;
        uint pos = pos0 + s;
        float v = 0.0;
        if (pos < pc.total) {
            // frames lo..hi cover pos: m·hop <= pos < m·hop + n
            uint lo = pos >= pc.n ? (rm >= nr ? q - nq : q - nq - 1u) + 1u : 0u;
            uint hi = min(q, pc.frames - 1u);
            bool interior = pos + pc.hop >= pc.n && q <= pc.frames - 1u;
            float acc = 0.0, env = 0.0;
            uint k = pos - lo * pc.hop;
            for (uint m = lo; m <= hi; m++) {
                acc += fb[base + (m - pc.mlo) * pc.n + k];
                if (!interior) env += tab[k];
                k -= pc.hop;
            }
            if (interior) env = tab[pc.n + rm];
            v = acc / env;
        }
        y[pc.yBase + r * pc.yStride + pc.i0 + i] = v;
        rm++;
        if (rm == pc.hop) { rm = 0u; q++; }
    }
}
