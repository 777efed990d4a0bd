// The body of fft_reg.comp, fft_reg_t.comp and fft_reg_tt.comp (TAB_TEXEL: the table read through
// a texel buffer; IN_TEXEL: binding 0 too).
// Real FFTs of power-of-two length n = 2N for lavapipe, one frame per invocation: the same jobs
// and push constants as fft.comp (forward: framed, padded, windowed signal in, spectrum bins out;
// the inverse pipeline: spectrum in, windowed frames out), for even n only.
//
// The frame's N = N1·N2 complex values z[j] = x[2j] + i x[2j+1] are transformed in four steps:
//   forward: for each n2 (a loop), the DFT of size N1 over z[n1 N2 + n2] read straight from the
//     signal, times w_N^{n2 k1}, into T[k1 N2 + n2]; then for each pair of rows k1 and N1 − k1 (a
//     loop), the DFTs of size N2 over T[k1 N2 + n2], which are the bins Z[k1 + N1 k2] and their
//     mirrors Z[N − k], so the real/complex split stores the bins at once;
//   inverse: the same in reverse (Hermitian completion per pair of rows, DFTs of size N2, then of
//     size N1 per n2, written straight to the frame).
// The DFTs of size N1 and N2 are unrolled with constant indices: on lavapipe the 8 lanes of a
// SIMD batch (8 frames) then run them in registers, while the private array T is accessed lane by
// lane only twice per value. Twiddles and window values are read from the table (binding 1) at
// lane-uniform addresses (one load for all lanes). Two n2 per iteration, so that frames are read
// and written with vec4 accesses where the host says they are 16-byte aligned (flag 32).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint LOG1 = 4; // N1 = 2^LOG1 (3 to 5)
layout(constant_id = 2) const uint LOG2 = 4; // N2 = 2^LOG2 (2 to 5), N2 <= N1
layout(constant_id = 3) const bool INV = false; // the inverse
const uint N1 = 1u << LOG1, N2 = 1u << LOG2, N = N1 * N2;

#include "fft_radix.glsl"
#include "grid.glsl"

#ifndef IN_TEXEL
#define IN_TEXEL 0
#endif
#if IN_TEXEL
// binding 0 through a uniform texel buffer (fft_reg_tt.comp): a gather where a storage-buffer
// load is a loop over the lanes
layout(binding = 0) uniform usamplerBuffer inT;
float IN1(uint i) { return uintBitsToFloat(texelFetch(inT, int(i >> 2))[i & 3u]); }
vec2 IN2(uint i) {
    uvec4 t = texelFetch(inT, int(i >> 1));
    return uintBitsToFloat((i & 1u) != 0u ? t.zw : t.xy);
}
vec4 IN4(uint i) { return uintBitsToFloat(texelFetch(inT, int(i))); }
#else
layout(std430, binding = 0) readonly buffer In1 { float in1[]; };
layout(std430, binding = 0) readonly buffer In2 { vec2 in2[]; };
layout(std430, binding = 0) readonly buffer In4 { vec4 in4[]; };
#define IN1(i) in1[i]
#define IN2(i) in2[i]
#define IN4(i) in4[i]
#endif
layout(std430, binding = 2) writeonly buffer Out1 { float out1[]; };
layout(std430, binding = 2) writeonly buffer Out4 { vec4 out4[]; };
layout(std430, binding = 2) writeonly buffer Out2 { vec2 out2[]; };

// The push constants of fft.comp (ops/fft.go fftPush); N, E, P, plan, npass, K and prog unused.
layout(push_constant) uniform PC {
    uint N_, E_, P_, plan_, npass_;
    uint nfft;
    uint hop;
    uint pad;    // left padding of the signal (center: n/2)
    uint L;      // signal samples per batch row (forward)
    uint frames; // frames per batch row
    uint nframes;// frames in this dispatch (rows × frames)
    uint units;  // frames in this dispatch
    uint K_;
    uint flags;  // 2: reflect padding, 4: two-sided spectrum, 32: 16-byte aligned frames
    uint xBase;  // element offset of the dispatch's first row in binding 0 (floats)
    uint oBase;  // element offset in binding 2 (floats)
    uint F;
    uint f0;     // forward: bins [f0, f1) are written, at (f - f0)
    uint f1;
    uint sB;     // spectrum strides, complex units: row, bin, frame
    uint sF;
    uint sM;
    float scale;
    uint prog0_, prog1_;
} pc;

// Table (ops/fft.go fftTables with E = M = N): w_N^j at 0, w_2N^j at 2N (complex units), the
// window (n floats) at float 10N.
#if TAB_TEXEL
// the table through a uniform texel buffer (fft_reg_t.comp, lavapipe: a lane-uniform texel fetch
// is one load where a storage-buffer load pays a bounds check per component)
layout(binding = 1) uniform usamplerBuffer tabT;
vec2 TAB2(uint i) {
    uvec4 t = texelFetch(tabT, int(i >> 1));
    return uintBitsToFloat((i & 1u) != 0u ? t.zw : t.xy);
}
// window values j .. j+3, j a multiple of 4
vec4 win4(uint j) { return uintBitsToFloat(texelFetch(tabT, int((10u * N + j) >> 2))); }
#else
layout(std430, binding = 1) readonly buffer Tab2 { vec2 tab2[]; };
layout(std430, binding = 1) readonly buffer Tab1 { float tab1[]; };
#define TAB2(i) tab2[i]
vec4 win4(uint j) { return vec4(tab1[10u * N + j], tab1[10u * N + j + 1u], tab1[10u * N + j + 2u], tab1[10u * N + j + 3u]); }
#endif
vec2 twN(uint j) { return TAB2(j & (N - 1u)); }

vec2 T[N];

#include "fft_reg.glsl"

// The padded signal of row b at padded position i.
float padded(uint b, int i) {
    i -= int(pc.pad);
    int Lr = int(pc.L);
    bool inside = i >= 0 && i < Lr;
    if ((pc.flags & 2u) != 0u) {
        i = i < 0 ? -i : i;
        i = i >= Lr ? 2 * (Lr - 1) - i : i;
        inside = true;
    }
    i = clamp(i, 0, Lr - 1);
    float v = IN1(pc.xBase + b * pc.L + uint(i));
    return inside ? v : 0.0;
}

// FULL: the loops over n2 and over the pairs of rows are unrolled too, so that every index of T
// is a constant and T lives in registers (spilled as whole SIMD vectors). It pays up to N = 256
// (n_fft 512: rfft 512x4096 14.5 -> 10.5 ms, irfft 11.6 -> 5.7 ms on lavapipe); at N = 512 the
// unrolled code is slower and takes minutes to compile, so the larger sizes keep the loops.
const bool FULL = N <= 256u;

// Forward, first step for n2 and n2 + 1: z[n1 N2 + n2] (and + 1) read from the frame and
// windowed, the DFT of size N1, twiddled into T[k1 N2 + n2].
void fwdCols(uint n2, bool fast, uint b, int s0, uint x0) {
    vec2 u[32], w[32];
    if (fast) {
        [[unroll]] for (uint n1 = 0; n1 < N1; n1++) {
            const uint j = n1 * N2 + n2; // even
            vec4 v = IN4(x0 / 4u + j / 2u) * win4(2u * j);
            u[n1] = v.xy;
            w[n1] = v.zw;
        }
    } else {
        [[unroll]] for (uint n1 = 0; n1 < N1; n1++) {
            const uint j = n1 * N2 + n2;
            const int p = s0 + int(2u * j);
            vec4 v = vec4(padded(b, p), padded(b, p + 1), padded(b, p + 2), padded(b, p + 3)) *
                     win4(2u * j);
            u[n1] = v.xy;
            w[n1] = v.zw;
        }
    }
    fft1(u);
    fft1(w);
    [[unroll]] for (uint k1 = 0; k1 < N1; k1++) {
        T[k1 * N2 + n2] = k1 == 0u ? u[pos1(k1)] : cmul(u[pos1(k1)], twN(n2 * k1));
        T[k1 * N2 + n2 + 1u] = k1 == 0u ? w[pos1(k1)] : cmul(w[pos1(k1)], twN((n2 + 1u) * k1));
    }
}

// Forward, second step for rows A = i and B = N1 − i (i = 0: rows 0 and N1/2, each its own
// mirror): the DFTs of size N2 and the real/complex split, bins stored.
void fwdRows(uint i, bool ok, int o, float hs, bool twoSided) {
    vec2 u[32], w[32];
    const uint A = i, B = i == 0u ? N1 / 2u : N1 - i;
    [[unroll]] for (uint n2 = 0; n2 < N2; n2++) {
        u[n2] = T[A * N2 + n2];
        w[n2] = T[B * N2 + n2];
    }
    fft2(u);
    fft2(w);
    [[unroll]] for (uint h = 0; h < 2u; h++) {
        const uint row = h == 0u ? A : B;
        [[unroll]] for (uint k2 = 0; k2 < N2; k2++) {
            const uint k = row + N1 * k2;
            vec2 Zk = h == 0u ? u[pos2(k2)] : w[pos2(k2)];
            vec2 Zm;
            if (h == 0u) Zm = i == 0u ? u[pos2((N2 - k2) % N2)] : w[pos2(N2 - 1u - k2)];
            else Zm = i == 0u ? w[pos2(N2 - 1u - k2)] : u[pos2(N2 - 1u - k2)];
            vec2 Fe = hs * (Zk + conjc(Zm));
            vec2 Fo = hs * mul_mi(Zk - conjc(Zm));
            vec2 X = Fe + cmul(TAB2(2u * N + min(k, N - 1u)), Fo);
            X = k == 0u ? Fe + Fo : X;
            if (ok && k >= pc.f0 && k < pc.f1) out2[uint(int(k * pc.sF) + o)] = X;
            if (k == 0u && ok && N >= pc.f0 && N < pc.f1) out2[uint(int(N * pc.sF) + o)] = Fe - Fo;
            if (twoSided && k > 0u) {
                uint f = 2u * N - k;
                if (ok && f >= pc.f0 && f < pc.f1) out2[uint(int(f * pc.sF) + o)] = conjc(X);
            }
        }
    }
}

// Inverse, first step for rows A and B: Hermitian completion, Z = s + i conj(w_2N^k) d with
// s = X[k] + conj X[N−k], d = X[k] − conj X[N−k]; conjugated, so that forward DFTs give the
// inverse; the DFTs of size N2, twiddled into T.
void invRows(uint i, uint ib) {
    vec2 u[32], w[32];
    const uint A = i, B = i == 0u ? N1 / 2u : N1 - i;
    vec2 XA[32], XB[32];
    [[unroll]] for (uint k2 = 0; k2 < N2; k2++) {
        XA[k2] = IN2(ib + (A + N1 * k2) * pc.sF);
        XB[k2] = IN2(ib + (B + N1 * k2) * pc.sF);
    }
    const vec2 XN = vec2(IN2(ib + N * pc.sF).x, 0.0);
    if (i == 0u) XA[0].y = 0.0;
    [[unroll]] for (uint h = 0; h < 2u; h++) {
        const uint row = h == 0u ? A : B;
        [[unroll]] for (uint k2 = 0; k2 < N2; k2++) {
            const uint k = row + N1 * k2;
            vec2 Xk = h == 0u ? XA[k2] : XB[k2];
            vec2 Xm;
            if (h == 0u) Xm = i == 0u ? (k2 == 0u ? XN : XA[N2 - k2]) : XB[N2 - 1u - k2];
            else Xm = i == 0u ? XB[N2 - 1u - k2] : XA[N2 - 1u - k2];
            vec2 s = Xk + conjc(Xm), d = Xk - conjc(Xm);
            vec2 tw = TAB2(2u * N + min(k, N - 1u));
            tw = k == 0u ? vec2(1.0, 0.0) : tw;
            vec2 Z = conjc(s + cmul(vec2(tw.y, tw.x), d));
            if (h == 0u) u[k2] = Z; else w[k2] = Z;
        }
    }
    fft2(u);
    fft2(w);
    [[unroll]] for (uint n2 = 0; n2 < N2; n2++) {
        T[A * N2 + n2] = cmul(u[pos2(n2)], twN(A * n2));
        T[B * N2 + n2] = cmul(w[pos2(n2)], twN(B * n2));
    }
}

// Inverse, second step for n2 and n2 + 1: the DFT of size N1 over k1, z[n2 + N2 n1] out,
// conjugated and windowed.
void invCols(uint n2, bool ok, bool aligned, uint y0, float sc) {
    vec2 u[32], w[32];
    [[unroll]] for (uint k1 = 0; k1 < N1; k1++) {
        u[k1] = T[k1 * N2 + n2];
        w[k1] = T[k1 * N2 + n2 + 1u];
    }
    fft1(u);
    fft1(w);
    [[unroll]] for (uint n1 = 0; n1 < N1; n1++) {
        const uint j = n1 * N2 + n2;
        vec4 v = vec4(conjc(u[pos1(n1)]), conjc(w[pos1(n1)])) * sc;
        v *= win4(2u * j);
        if (ok && aligned) {
            out4[y0 / 4u + j / 2u] = v;
        } else if (ok) {
            out1[y0 + 2u * j] = v.x;
            out1[y0 + 2u * j + 1u] = v.y;
            out1[y0 + 2u * j + 2u] = v.z;
            out1[y0 + 2u * j + 3u] = v.w;
        }
    }
}

void main() {
    const uint unit = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationIndex;
    const bool ok = unit < pc.units;
    const uint c = min(unit, pc.nframes - 1u);
    const uint b = c / pc.frames, m = c - b * pc.frames;
    const bool aligned = (pc.flags & 32u) != 0u;

    if (!INV) {
        const int s0 = int(m * pc.hop);
        const bool direct = s0 >= int(pc.pad) && s0 + int(pc.nfft) <= int(pc.pad + pc.L);
        const uint x0 = pc.xBase + b * pc.L + uint(max(s0 - int(pc.pad), 0));
        // one path for the whole subgroup: vec4 loads when no lane's frame needs padding
        const bool fast = aligned && subgroupAll(direct);
        if (FULL) {
            [[unroll]] for (uint n2 = 0; n2 < N2; n2 += 2u) fwdCols(n2, fast, b, s0, x0);
        } else {
            for (uint n2 = 0; n2 < N2; n2 += 2u) fwdCols(n2, fast, b, s0, x0);
        }
        const float hs = 0.5 * pc.scale;
        const int o = int(pc.oBase / 2u + b * pc.sB + m * pc.sM) - int(pc.f0 * pc.sF);
        const bool twoSided = (pc.flags & 4u) != 0u;
        if (FULL) {
            [[unroll]] for (uint i = 0; i < N1 / 2u; i++) fwdRows(i, ok, o, hs, twoSided);
        } else {
            for (uint i = 0; i < N1 / 2u; i++) fwdRows(i, ok, o, hs, twoSided);
        }
    } else {
        const uint ib = pc.xBase / 2u + b * pc.sB + m * pc.sM;
        if (FULL) {
            [[unroll]] for (uint i = 0; i < N1 / 2u; i++) invRows(i, ib);
        } else {
            for (uint i = 0; i < N1 / 2u; i++) invRows(i, ib);
        }
        const uint y0 = pc.oBase + c * pc.nfft;
        const float sc = pc.scale;
        if (FULL) {
            [[unroll]] for (uint n2 = 0; n2 < N2; n2 += 2u) invCols(n2, ok, aligned, y0, sc);
        } else {
            for (uint n2 = 0; n2 < N2; n2 += 2u) invCols(n2, ok, aligned, y0, sc);
        }
    }
}
