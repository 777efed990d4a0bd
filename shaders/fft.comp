#version 450
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
// Real FFTs of framed, windowed signals: the STFT (forward: signal in, spectrum bins out) and the
// inverse FFT + window of the iSTFT (flag 8: spectrum in, windowed frames out for istft_ola.comp
// to overlap-add); flag 16 runs plain complex FFTs over a scratch tensor for ops/fft_big.go.
//
// A frame unit is one real frame of even length n (packed as N = n/2 complex values z[j] =
// x[2j] + i x[2j+1]), or two real frames of odd length n (z = xA + i xB, N = n). Its complex FFT
// of size M (M = N, or for Bluestein the smooth size M >= 2N-1) is spread over P consecutive lanes
// of one subgroup (P a power of two <= 8), E = M/P values per lane, kept in private arrays:
//   normal order (strided in, blocked out): a local FFT of size E (Stockham passes of radix 2, 3,
//     4, 5, 7, 8 on the lane's values x[t + P e]), a twiddle w_M^{t k2}, and a DFT of size P across
//     the lanes (shuffles), after which lane t holds X[E t + k2];
//   transposed order (blocked in, strided out): the same three steps in reverse.
// Bluestein runs transposed, multiplies by the chirp filter's spectrum, and runs the normal order on
// the conjugate; the FFT itself never leaves the lane's registers and private arrays, the signal is
// read once per frame and every twiddle comes from a float64-computed table (binding 1), copied
// into private arrays once per invocation, which then walks K frame units. The steps between load
// and store come as a program in the push constants (one copy of each heavy block of code: LLVM's
// compile time on lavapipe grows with code size), so one pipeline serves every size of a class.
// No shared memory: on lavapipe every shared or buffer access is emitted lane by lane, while
// private arrays are gathered and shuffles are register moves.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int EMAX = 64;  // largest E (even)
layout(constant_id = 2) const bool BLUE = false; // Bluestein tables
// A pipeline may be built for one small transform: EFIX values per lane, one lane per unit, the
// passes' radices PLANFIX (NPASSFIX of them). Every loop then has a constant trip count, LLVM
// unrolls them and the private arrays become registers (lavapipe: the loops' and arrays'
// overheads dominate transforms as small as n_fft 16). 0: sizes come from the push constants.
layout(constant_id = 3) const uint EFIX = 0;
layout(constant_id = 4) const uint PLANFIX = 0;
layout(constant_id = 5) const uint NPASSFIX = 0;
const bool FIX = EFIX > 0u;

#include "fft_radix.glsl"
#include "grid.glsl"

layout(std430, binding = 0) readonly buffer In1 { float in1[]; };
layout(std430, binding = 0) readonly buffer In2 { vec2 in2[]; };
layout(std430, binding = 1) readonly buffer Tab2 { vec2 tab2[]; };
layout(std430, binding = 1) readonly buffer Tab1 { float tab1[]; };
layout(std430, binding = 2) writeonly buffer Out1 { float out1[]; };
layout(std430, binding = 2) writeonly buffer Out2 { vec2 out2[]; };

layout(push_constant) uniform PC {
    uint N;      // complex size of the transform of one unit
    uint E;      // values per lane
    uint P;      // lanes per unit
    uint plan;   // local FFT radices, 4 bits per pass, first pass lowest
    uint npass;
    uint nfft;
    uint hop;
    uint pad;    // left padding of the signal (center: n/2)
    uint L;      // signal samples per batch row (forward)
    uint frames; // frames per batch row
    uint nframes;// frames in this dispatch (rows × frames)
    uint units;  // frame units in this dispatch
    uint K;      // units per invocation
    uint flags;  // 1: odd n (two frames per unit), 2: reflect padding, 4: two-sided spectrum,
                 // 8: inverse (spectrum in, windowed frames out), 16: columns (below)
    uint xBase;  // element offset of the dispatch's first row in binding 0 (floats)
    uint oBase;  // element offset in binding 2 (floats)
    uint F;      // frequency bins of a frame in the spectrum tensor
    uint f0;     // forward: bins [f0, f1) are written, at (f - f0)
    uint f1;
    uint sB;     // spectrum strides, complex units: row, bin, frame
    uint sF;
    uint sM;
    float scale;
    uint prog0;  // the steps between loading and storing, 4 bits each (see step codes), 0 ends
    uint prog1;
} pc;

// Step codes of the program: every heavy block of code appears once in the shader (LLVM's compile
// time on lavapipe grows with code size), and the host sequences them.
const uint S_LOCAL = 1u, S_CROSS_PRE = 2u, S_CROSS_POST = 3u, S_CONJ = 4u, S_CHIRP = 5u, S_BH = 6u;

const int EH = EMAX / 2;
const int BH = BLUE ? EMAX / 2 : 1;
// LLVM's compile time on lavapipe grows with the element count of private arrays (about 7 ms per
// element), so the read-only tables hold two complex values per vec4; the working buffer, read and
// written everywhere, is plain vec2 (packing it costs far more compile time in selects).
vec2 buf[2 * EMAX]; // two halves [0, E) and [E, 2E): Stockham ping-pong
vec4 twl[EH];     // w_E^j
vec4 tws[EH];     // w_M^{t k2}
vec4 twp[EH];     // w_{2N}^{E t + k2} (even n)
vec4 win[EH];     // window values of the lane's samples
vec4 chp[BH];     // Bluestein chirp c[E t + e] = e^{-iπ j²/N}
vec4 bhs[BH];     // Bluestein filter spectrum B̂[t + P e] / M

vec2 sel(vec4 v, uint i) { return (i & 1u) == 0u ? v.xy : v.zw; }
#define LD(A, i) sel(A[(i) >> 1], (i))
#define ST(A, i, c) { uint i_ = (i); vec2 c_ = (c); vec4 o_ = A[i_ >> 1]; A[i_ >> 1] = (i_ & 1u) == 0u ? vec4(c_, o_.zw) : vec4(o_.xy, c_); }

uint lane;     // t: position of this invocation in its unit's lanes
uint laneBase; // subgroup invocation id of lane 0 of the unit

// One Stockham pass of radix R over E values: src and dst are offsets 0 or E in buf; Ns is the
// length of the sub-transforms already done; nb = E/R butterflies; ts = E/(Ns R) twiddle stride.
#define DEFPASS(R) \
void pass##R(uint src, uint dst, uint Ns, uint nb, uint ts) { \
    for (uint k = 0; k < Ns; k++) { \
        vec2 w[R]; \
        [[unroll]] for (uint r = 1; r < R; r++) w[r] = LD(twl, r * k * ts); \
        for (uint j = k; j < nb; j += Ns) { \
            vec2 a[R]; \
            [[unroll]] for (uint r = 0; r < R; r++) a[r] = buf[src + j + r * nb]; \
            [[unroll]] for (uint r = 1; r < R; r++) a[r] = cmul(a[r], w[r]); \
            dft##R(a); \
            uint o = dst + (j - k) * R + k; \
            [[unroll]] for (uint r = 0; r < R; r++) buf[o + r * Ns] = a[r]; \
        } \
    } \
}
DEFPASS(2)
DEFPASS(3)
DEFPASS(4)
DEFPASS(5)
DEFPASS(7)
DEFPASS(8)

// exactDiv is a / b when b divides a (both below 2^24): a float division, since lavapipe emits a
// vector integer division as one scalar division per lane.
uint exactDiv(uint a, uint b) { return FIX ? a / b : uint(float(a) / float(b) + 0.5); }

// localFFT transforms the E values at buf[cur..] (natural order in and out) and returns the
// offset of the result.
uint localFFT(uint cur) {
    uint E = FIX ? EFIX : pc.E, Ns = 1;
    for (uint p = 0; p < (FIX ? NPASSFIX : pc.npass); p++) {
        uint R = ((FIX ? PLANFIX : pc.plan) >> (4 * p)) & 15u;
        uint dst = E - cur;
        uint nb = exactDiv(E, R);
        uint ts = exactDiv(nb, Ns);
        switch (R) {
        case 2: pass2(cur, dst, Ns, nb, ts); break;
        case 3: pass3(cur, dst, Ns, nb, ts); break;
        case 4: pass4(cur, dst, Ns, nb, ts); break;
        case 5: pass5(cur, dst, Ns, nb, ts); break;
        case 7: pass7(cur, dst, Ns, nb, ts); break;
        default: pass8(cur, dst, Ns, nb, ts); break;
        }
        Ns *= R;
        cur = dst;
    }
    return cur;
}

// Per-lane twiddles of the cross-lane DIF stages: stage s (span h = P >> (s+1)) multiplies by
// w_{2h}^{t mod h}.
vec2 stw[3];

// cross replaces, for every k2, the P lanes' values v_t = buf[cur + k2] by Σ_u v_u w_P^{u t}.
// With pre (normal order) the values are first multiplied by tws (the step twiddle); with post
// (transposed order) the results are. conjIn / conjOut conjugate on the way in / out.
void cross(uint cur, bool pre, bool post, bool conjIn, bool conjOut) {
    uint P = pc.P;
    uint rev = P > 1u ? bitfieldReverse(lane) >> (32u - uint(findLSB(P))) : 0u;
    for (uint k2 = 0; k2 < (FIX ? EFIX : pc.E); k2++) {
        vec2 v = buf[cur + k2];
        if (conjIn) v = conjc(v);
        if (pre) v = cmul(v, LD(tws, k2));
        uint s = 0;
        for (uint h = P >> 1; h > 0u; h >>= 1) {
            vec2 u = subgroupShuffleXor(v, h);
            v = (lane & h) != 0u ? cmul(u - v, stw[s]) : v + u;
            s++;
        }
        if (P > 1u) v = subgroupShuffle(v, laneBase + rev);
        if (post) v = cmul(v, LD(tws, k2));
        if (conjOut) v = conjc(v);
        buf[cur + k2] = v;
    }
}

// run executes the step program on buf[cur..] and returns the offset of the result.
uint run(uint cur) {
    for (uint st = 0; st < 16u; st++) {
        uint op = (st < 8u ? pc.prog0 >> (4u * st) : pc.prog1 >> (4u * (st - 8u))) & 15u;
        if (op == 0u) break;
        if (op == S_LOCAL) {
            cur = localFFT(cur);
        } else if (op == S_CROSS_PRE || op == S_CROSS_POST) {
            cross(cur, op == S_CROSS_PRE, op == S_CROSS_POST, false, false);
        } else {
            for (uint e = 0; e < (FIX ? EFIX : pc.E); e++) {
                vec2 v = buf[cur + e];
                if (op == S_CONJ) v = conjc(v);
                else if (op == S_CHIRP) v = cmul(v, LD(chp, e));
                else v = conjc(cmul(v, LD(bhs, e)));
                buf[cur + e] = v;
            }
        }
    }
    return cur;
}

// The padded signal of row b at padded position pos.
float padded(uint b, int pos, bool ok) {
    int i = pos - int(pc.pad);
    int Lr = int(pc.L);
    bool inside = i >= 0 && i < Lr;
    if ((pc.flags & 2u) != 0u) {
        i = i < 0 ? -i : i;
        i = i >= Lr ? 2 * (Lr - 1) - i : i;
        inside = true;
    }
    i = clamp(i, 0, Lr - 1);
    float v = in1[pc.xBase + b * pc.L + uint(i)];
    return inside && ok ? v : 0.0;
}

void main() {
    const uint P = FIX ? 1u : pc.P, E = FIX ? EFIX : pc.E, N = pc.N, M = P * E;
    const bool odd = (pc.flags & 1u) != 0u;
    const bool twoSided = (pc.flags & 4u) != 0u;
    const bool inverse = (pc.flags & 8u) != 0u;
    const bool columns = (pc.flags & 16u) != 0u;
    const uint sgl = gl_SubgroupInvocationID;
    lane = sgl & (P - 1u);
    laneBase = sgl & ~(P - 1u);
    const uint wgSlots = gl_WorkGroupSize.x / P;
    const uint slot = (gl_SubgroupID * gl_SubgroupSize + sgl) / P;
    const uint unit0 = linear_group() * wgSlots * pc.K + slot;

    // Tables: w_E^j at 0, w_M^j at E, w_2N^j at E+M, chirp at E+M+N, B̂/M at E+M+2N (complex
    // units), window (n floats) after them.
    const uint oStep = E, oPost = E + M, oChirp = E + M + N, oBh = E + M + 2u * N;
    const uint oWin = 2u * (E + 2u * M + 2u * N);
    // w_E^j is the same for every lane: each loads every P-th value and the others come by shuffle
    for (uint e0 = 0; e0 < E; e0 += P) {
        vec2 mine = tab2[min(e0 + lane, E - 1u)];
        for (uint t = 0; t < P && e0 + t < E; t++) ST(twl, e0 + t, subgroupShuffle(mine, laneBase + t));
    }
    for (uint e = 0; e < E; e++) {
        ST(tws, e, tab2[oStep + lane * e]);
        uint k = min(E * lane + e, N - 1u);
        ST(twp, e, tab2[oPost + k]);
        uint j = BLUE ? E * lane + e : lane + P * e;
        vec2 w;
        if (odd) {
            w = vec2(tab1[oWin + min(j, N - 1u)]);
        } else {
            w = vec2(tab1[oWin + 2u * min(j, N - 1u)], tab1[oWin + 2u * min(j, N - 1u) + 1u]);
        }
        ST(win, e, j < N ? w : vec2(0.0));
        if (BLUE) {
            ST(chp, e, j < N ? tab2[oChirp + min(j, N - 1u)] : vec2(0.0));
            ST(bhs, e, tab2[oBh + lane + P * e]);
        }
    }
    {
        const vec2 w8[4] = vec2[4](vec2(1.0, 0.0), vec2(0.70710678118654752440, -0.70710678118654752440),
                                   vec2(0.0, -1.0), vec2(-0.70710678118654752440, -0.70710678118654752440));
        uint s = 0;
        for (uint h = P >> 1; h > 0u; h >>= 1) {
            stw[min(s, 2u)] = w8[(lane & (h - 1u)) * (4u / h)];
            s++;
        }
    }
    // Mirror bookkeeping: for k2 >= 1, q = N - k2 = qd E + qm, walked down incrementally.
    const uint qd1 = (N - 1u) / E, qm1 = (N - 1u) % E, qd0 = N / E, qm0 = N % E;

    for (uint kf = 0; kf < pc.K; kf++) {
        const uint unit = unit0 + kf * wgSlots;
        const bool okU = unit < pc.units;
        // frames of the unit (flattened over rows) and their rows
        const uint gA = odd ? 2u * unit : unit, gB = 2u * unit + 1u;
        const bool okA = okU, okB = okU && odd && gB < pc.nframes;
        const uint cA = min(gA, pc.nframes - 1u), cB = min(gB, pc.nframes - 1u);
        const uint bA = cA / pc.frames, mA = cA - bA * pc.frames;
        const uint bB = cB / pc.frames, mB = cB - bB * pc.frames;
        uint cur = 0;

        if (columns) {
            // columns: the forward DFT of N complex values of a scratch tensor (the passes of the
            // large-size path, ops/fft_big.go). Unit u = (u1, u2) with u2 < frames reads
            // in2[xBase/2 + u1 L + u2 hop + j pad] and writes out2[oBase/2 + u1 sB + u2 sF + k sM],
            // multiplied by tab2[f0 + u2 k] (the four-step twiddle) when f1 != 0.
            const uint uc = min(unit, pc.units - 1u);
            const uint u1 = uc / pc.frames, u2 = uc - u1 * pc.frames;
            const uint ib = pc.xBase / 2u + u1 * pc.L + u2 * pc.hop;
            for (uint e = 0; e < E; e++) {
                uint j = BLUE ? E * lane + e : lane + P * e;
                vec2 z = in2[ib + min(j, N - 1u) * pc.pad];
                buf[e] = j < N ? z : vec2(0.0);
            }
            cur = run(0u);
            const uint ob = pc.oBase / 2u + u1 * pc.sB + u2 * pc.sF;
            for (uint k2 = 0; k2 < E; k2++) {
                uint k = E * lane + k2;
                vec2 v = buf[cur + k2] * pc.scale;
                if (pc.f1 != 0u) v = cmul(v, tab2[pc.f0 + u2 * min(k, N - 1u)]);
                if (okU && k < N) out2[ob + k * pc.sM] = v;
            }
        } else if (!inverse) {
            // load (strided for the normal order, blocked for Bluestein), window; frames that need
            // no padding take the direct path (no reflection, clamps or masks per sample)
            const int sA = int(mA * pc.hop), sB = int(mB * pc.hop);
            const int lo = int(pc.pad), hi = int(pc.pad + pc.L) - int(pc.nfft);
            const bool direct = sA >= lo && sA <= hi && (!okB || (sB >= lo && sB <= hi));
            if (direct) {
                const uint xa = pc.xBase + bA * pc.L + uint(sA - lo), xb = pc.xBase + bB * pc.L + uint(sB - lo);
                for (uint e = 0; e < E; e++) {
                    uint j = min(BLUE ? E * lane + e : lane + P * e, N - 1u);
                    vec2 z = odd ? vec2(in1[xa + j], in1[xb + j]) : vec2(in1[xa + 2u * j], in1[xa + 2u * j + 1u]);
                    buf[e] = z * LD(win, e);
                }
            } else {
                for (uint e = 0; e < E; e++) {
                    uint jc = min(BLUE ? E * lane + e : lane + P * e, N - 1u);
                    vec2 z;
                    if (odd) {
                        z = vec2(padded(bA, sA + int(jc), okA), padded(bB, sB + int(jc), okB));
                    } else {
                        z = vec2(padded(bA, sA + int(2u * jc), okA), padded(bA, sA + int(2u * jc + 1u), okA));
                    }
                    buf[e] = z * LD(win, e);
                }
            }
            cur = run(0u);

            // split the packed spectrum and store bins [f0, f1)
            uint qd = qd1, qm = qm1;
            const float hs = 0.5 * pc.scale;
            // output addresses (complex units) of bin 0 of the unit's frames
            const int oA = int(pc.oBase / 2u + bA * pc.sB + mA * pc.sM) - int(pc.f0 * pc.sF);
            const int oB = int(pc.oBase / 2u + bB * pc.sB + mB * pc.sM) - int(pc.f0 * pc.sF);
            vec2 nyq = vec2(0.0);
            for (uint k2 = 0; k2 < E; k2++) {
                const uint k = E * lane + k2;
                vec2 Zk = buf[cur + k2];
                const bool first = k2 == 0u;
                uint qmk = first ? qm0 : qm;
                int s = int(first ? qd0 : qd) - int(lane);
                vec2 Zm = subgroupShuffle(buf[cur + qmk], laneBase + uint(clamp(s, 0, int(P) - 1)));
                Zm = k == 0u ? Zk : Zm;
                const bool wrap = qm == 0u;
                qm = first ? qm : (wrap ? E - 1u : qm - 1u);
                qd = first || !wrap ? qd : qd - 1u;
                vec2 Fe = hs * (Zk + conjc(Zm));
                vec2 Fo = hs * mul_mi(Zk - conjc(Zm));
                const bool ok = okU && k < N;
                const bool inRange = ok && k >= pc.f0 && k < pc.f1;
                const uint ak = uint(int(k * pc.sF) + oA);
                if (odd) {
                    // Fe is frame A's bin k, Fo frame B's
                    if (inRange) out2[ak] = Fe;
                    if (inRange && okB) out2[uint(int(k * pc.sF) + oB)] = Fo;
                } else {
                    vec2 X = Fe + cmul(LD(twp, k2), Fo);
                    if (inRange) out2[ak] = X;
                    if (twoSided) {
                        uint f = 2u * N - k;
                        if (ok && k > 0u && f >= pc.f0 && f < pc.f1) out2[uint(int(f * pc.sF) + oA)] = conjc(X);
                    }
                    nyq = k == 0u ? vec2(Fe.x - Fo.x, 0.0) : nyq;
                }
            }
            // the Nyquist bin of even n, from the lane holding bin 0
            if (!odd && okU && lane == 0u && N >= pc.f0 && N < pc.f1) out2[uint(int(N * pc.sF) + oA)] = nyq;
        } else {
            // inverse: bins 0..n/2 of the spectrum (blocked k = E t + k2), Hermitian completion
            const uint ib = pc.xBase / 2u;
            if (odd) {
                const uint nh = (N - 1u) / 2u;
                for (uint k2 = 0; k2 < E; k2++) {
                    const uint k = E * lane + k2;
                    const uint kk = k <= nh ? k : N - min(k, N - 1u);
                    vec2 XA = in2[ib + bA * pc.sB + min(kk, nh) * pc.sF + mA * pc.sM];
                    vec2 XB = in2[ib + bB * pc.sB + min(kk, nh) * pc.sF + mB * pc.sM];
                    if (k > nh) { XA = conjc(XA); XB = conjc(XB); }
                    if (k == 0u) { XA.y = 0.0; XB.y = 0.0; }
                    if (!okB) XB = vec2(0.0);
                    vec2 Z = XA + vec2(-XB.y, XB.x);
                    buf[k2] = k < N && okA ? Z : vec2(0.0);
                }
            } else {
                vec2 XN = in2[ib + bA * pc.sB + N * pc.sF + mA * pc.sM];
                XN.y = 0.0;
                for (uint k2 = 0; k2 < E; k2++) {
                    const uint k = E * lane + k2;
                    vec2 X = in2[ib + bA * pc.sB + min(k, N - 1u) * pc.sF + mA * pc.sM];
                    if (k == 0u) X.y = 0.0;
                    buf[k2] = k < N ? X : vec2(0.0);
                }
                uint qd = qd1, qm = qm1;
                for (uint k2 = 0; k2 < E; k2++) {
                    const uint k = E * lane + k2;
                    vec2 Xk = buf[k2];
                    const bool first = k2 == 0u;
                    uint qmk = first ? qm0 : qm;
                    int s = int(first ? qd0 : qd) - int(lane);
                    vec2 Xm = subgroupShuffle(buf[qmk], laneBase + uint(clamp(s, 0, int(P) - 1)));
                    Xm = k == 0u ? XN : Xm;
                    const bool wrap = qm == 0u;
                    qm = first ? qm : (wrap ? E - 1u : qm - 1u);
                    qd = first || !wrap ? qd : qd - 1u;
                    vec2 a = Xk + conjc(Xm), d = Xk - conjc(Xm);
                    vec2 w = LD(twp, k2);
                    vec2 Z = a + cmul(vec2(w.y, w.x), d); // a + i·conj(w)·d
                    buf[E + k2] = k < N && okA ? Z : vec2(0.0);
                }
                cur = E;
            }
            // inverse DFT (unnormalised) of size N by conjugation
            cur = run(cur);
            // windowed frames: [nframes, n] at oBase
            for (uint e = 0; e < E; e++) {
                uint j = BLUE ? E * lane + e : lane + P * e;
                vec2 v = buf[cur + e] * pc.scale * LD(win, e);
                if (j >= N) continue;
                if (odd) {
                    if (okA) out1[pc.oBase + cA * pc.nfft + j] = v.x;
                    if (okB) out1[pc.oBase + cB * pc.nfft + j] = v.y;
                } else if (okA) {
                    out1[pc.oBase + cA * pc.nfft + 2u * j] = v.x;
                    out1[pc.oBase + cA * pc.nfft + 2u * j + 1u] = v.y;
                }
            }
        }
    }
}
