#version 450
#extension GL_EXT_control_flow_attributes : require
// Sampling of one id per row from logits [B, V] float32 (columns < VL considered), one workgroup of
// LOCAL invocations per row; invocation t owns the contiguous chunk [t*CH, t*CH+CH) of columns.
//   temp == 0: argmax (the lowest index among equal maxima).
//   else: p_i = exp((l_i - max) / temp); with 0 < topp < 1 the nucleus is {i : p_i >= thr}, thr the
//   largest value whose kept mass is >= topp * sum(p) (found by a radix-16 search on the bits of thr, so
//   every p equal to the smallest kept one is kept); then u = hash(seed, step, row) in [0, 1) and
//   the id is the first kept i (in index order) whose running kept mass exceeds u * kept mass.
// With COUNTER = 1 (specialization constant 1) the step is p.step + ctr[0], read from binding 2 when
// the kernel runs (a recorded decode step replayed with a new step per token); with COUNTER = 0
// binding 2 is not read.
// The reduction order depends only on LOCAL (fixed by the op), so a seed gives the same ids on
// devices that evaluate exp alike.
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Lg { float lg[]; };
layout(std430, binding = 1) writeonly buffer Ids { int ids[]; };
layout(std430, binding = 2) readonly buffer Ctr { int ctr[]; };
layout(constant_id = 1) const uint COUNTER = 0;
layout(push_constant) uniform P { uint B, V, VL; float temp, topp; uint seed_lo, seed_hi, step; } p;
shared float sv[gl_WorkGroupSize.x];
shared uint si[gl_WorkGroupSize.x];
shared float hist[16 * gl_WorkGroupSize.x];
shared float bucket[16];
const uint NONE = 0xffffffffu;

// The PCG hash (Jarzynski and Olano, "Hash Functions for GPU Rendering", 2020).
uint pcg(uint v) {
    uint state = v * 747796405u + 2891336453u;
    uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

float reduce_sum(float v) {
    uint t = gl_LocalInvocationID.x;
    barrier();
    sv[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (t < s) sv[t] += sv[t + s];
        barrier();
    }
    return sv[0];
}

void main() {
    uint row = linear_group();
    if (row >= p.B) return; // uniform per workgroup
    uint t = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x;
    uint CH = (p.VL + L - 1) / L, lo = min(t * CH, p.VL), hi = min(lo + CH, p.VL), base = row * p.V;

    // Maximum and its lowest index.
    float best = uintBitsToFloat(0xff800000u); // -inf
    uint bi = NONE;
    for (uint i = lo; i < hi; i++) {
        float v = lg[base + i];
        if (bi == NONE || v > best) { best = v; bi = i; }
    }
    sv[t] = best;
    si[t] = bi;
    barrier();
    for (uint s = L / 2; s > 0; s >>= 1) {
        if (t < s) {
            float ov = sv[t + s];
            uint oi = si[t + s];
            if (oi != NONE && (si[t] == NONE || ov > sv[t] || (ov == sv[t] && oi < si[t]))) {
                sv[t] = ov;
                si[t] = oi;
            }
        }
        barrier();
    }
    if (p.temp == 0.0) {
        if (t == 0) ids[row] = int(si[0] == NONE ? 0u : si[0]);
        return;
    }
    float mx = sv[0];

    float z = 0.0;
    for (uint i = lo; i < hi; i++) z += exp((lg[base + i] - mx) / p.temp);
    float total = reduce_sum(z);

    float thr = 0.0;
    if (p.topp > 0.0 && p.topp < 1.0) {
        // Radix-16 search on the bits of thr in [a, b): each pass splits [a, b) into 16 buckets of
        // 2^shift bit patterns, sums the probabilities falling in each bucket (hist, one column per
        // invocation) and above b, and keeps the last bucket whose threshold still leaves a mass
        // >= want. Invariant: mass(a) >= want > mass(b); after the pass with shift 0, b = a + 1.
        float want = p.topp * total;
        uint a = 0u;
        float above_b = 0.0; // the mass of probabilities with bits >= b, known from the last pass
        for (int shift = 28; shift >= 0; shift -= 4) {
            [[unroll]] for (int j = 0; j < 16; j++) hist[j * L + t] = 0.0;
            for (uint i = lo; i < hi; i++) {
                float q = exp((lg[base + i] - mx) / p.temp);
                uint qb = floatBitsToUint(q);
                if (qb < a) continue;
                uint j = (qb - a) >> uint(shift);
                if (j < 16u) hist[j * L + t] += q;
            }
            barrier();
            if (t < 16u) {
                float h = 0.0;
                for (uint u = 0; u < L; u++) h += hist[t * L + u];
                bucket[t] = h;
            }
            barrier();
            float m = above_b;
            uint jsel = 0u;
            float above_sel = above_b;
            for (int j = 15; j >= 0; j--) {
                float above = m;
                m += bucket[j];
                if (m >= want) { jsel = uint(j); above_sel = above; break; }
            }
            a += jsel << uint(shift);
            above_b = above_sel;
            barrier();
        }
        thr = uintBitsToFloat(a);
    }

    float kept = 0.0;
    for (uint i = lo; i < hi; i++) {
        float q = exp((lg[base + i] - mx) / p.temp);
        if (q >= thr) kept += q;
    }
    barrier();
    sv[t] = kept;
    barrier();
    if (t != 0) return;
    float total_kept = 0.0;
    for (uint j = 0; j < L; j++) total_kept += sv[j];
    uint step = p.step + (COUNTER != 0u ? uint(ctr[0]) : 0u);
    uint h = pcg(row ^ pcg(step ^ pcg(p.seed_hi ^ pcg(p.seed_lo))));
    float target = float(h >> 8) * (1.0 / 16777216.0) * total_kept;
    float cum = 0.0;
    uint j = 0, lastj = NONE;
    bool found = false;
    for (; j < L; j++) {
        if (sv[j] <= 0.0) continue;
        lastj = j;
        if (cum + sv[j] > target) { found = true; break; }
        cum += sv[j];
    }
    if (!found) j = lastj == NONE ? 0u : lastj;
    uint clo = min(j * CH, p.VL), chi = min(clo + CH, p.VL), pick = NONE, last = NONE;
    for (uint i = clo; i < chi; i++) {
        float q = exp((lg[base + i] - mx) / p.temp);
        if (q < thr) continue;
        last = i;
        cum += q;
        if (found && cum > target) { pick = i; break; }
    }
    if (pick == NONE) pick = last == NONE ? (si[0] == NONE ? 0u : si[0]) : last;
    ids[row] = int(pick);
}
