#version 450
// The element-wise ends of the large-size FFT path (ops/fft_big.go): when a frame unit's complex
// size is beyond one invocation group's private arrays, its FFT runs as two passes of fft.comp over
// columns and rows of a scratch tensor (the four-step algorithm), and these modes frame the signal
// into the scratch, split the spectrum out of it, and the inverse:
//   MODE 0 frame:   scratch[u][j] = packed windowed samples of unit u (zero for j >= N)
//   MODE 1 split:   spectrum bins of unit u from scratch[u][k] and scratch[u][N-k]
//   MODE 2 pack:    scratch[u][k] = the packed spectrum Z of unit u from the spectrum bins
//   MODE 3 unframe: windowed frames [frames, n] from scratch[u][j]
//   MODE 4 mul:     scratch'[u][j] = conj?(conj?(scratch[u][j]) · table[j])
// A unit is one even-length frame (N = n/2 values x[2j] + i x[2j+1]) or two odd-length frames
// (x_A + i x_B), as in fft.comp; frames are numbered over all rows of the dispatch (frame g is
// frame g mod frames of row g / frames). Each invocation handles CH consecutive elements of one
// unit.
layout(local_size_x = 64) in;
layout(constant_id = 0) const int MODE = 0;
layout(constant_id = 1) const uint CH = 16;

#include "grid.glsl"

layout(std430, binding = 0) readonly buffer In1 { float in1[]; };
layout(std430, binding = 0) readonly buffer In2 { vec2 in2[]; };
layout(std430, binding = 1) readonly buffer Tab1 { float tab1[]; };
layout(std430, binding = 1) readonly buffer Tab2 { vec2 tab2[]; };
layout(std430, binding = 2) writeonly buffer Out1 { float out1[]; };
layout(std430, binding = 2) writeonly buffer Out2 { vec2 out2[]; };

layout(push_constant) uniform PC {
    uint N;       // complex size of a unit's transform
    uint M;       // scratch values per unit (>= N: the Bluestein size)
    uint nfft;
    uint hop;
    uint pad;
    uint L;       // signal samples per row
    uint frames;  // frames per row
    uint nframes; // frames of all rows (units pair them, flattened, for odd n)
    uint units;   // units in this dispatch
    uint unit0;   // first unit of this dispatch
    uint flags;   // 1 odd, 2 reflect, 4 two-sided, 8 conj in, 16 conj out, 32 multiply by the table
    uint xBase;   // element offset in binding 0 (floats)
    uint oBase;   // element offset in binding 2 (floats)
    uint f0, f1;  // split: bins [f0, f1) are written, at f - f0
    uint sB, sF, sM; // spectrum strides (complex units): row, bin, frame
    float scale;
    uint tWin;    // float offset of the window in binding 1
    uint tPost;   // complex offset of w_2N^k in binding 1
    uint tMul;    // complex offset of the mul table in binding 1
} pc;

vec2 cmul(vec2 a, vec2 b) { return vec2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
vec2 conjc(vec2 a) { return vec2(a.x, -a.y); }

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
    const bool odd = (pc.flags & 1u) != 0u;
    const uint per = MODE == 1 || MODE == 3 ? pc.N : pc.M; // elements per unit walked
    const uint chunks = (per + CH - 1u) / CH;
    const uint gid = linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (gid >= pc.units * chunks) return;
    const uint ul = gid / chunks;             // unit within the dispatch
    const uint j0 = (gid - ul * chunks) * CH;
    const uint u = pc.unit0 + ul;
    const uint gA = odd ? 2u * u : u, gB = min(2u * u + 1u, pc.nframes - 1u);
    const bool okB = odd && 2u * u + 1u < pc.nframes;
    const uint bA = gA / pc.frames, mA = gA - bA * pc.frames;
    const uint bB = gB / pc.frames, mB = gB - bB * pc.frames;
    const uint sc = ul * pc.M;                // scratch base of the unit (complex)

    for (uint c = 0; c < CH; c++) {
        const uint j = j0 + c;
        if (j >= per) break;
        if (MODE == 0) {
            vec2 z = vec2(0.0);
            if (j < pc.N) {
                if (odd) {
                    float w = tab1[pc.tWin + j];
                    z = vec2(padded(bA, int(mA * pc.hop + j), true), padded(bB, int(mB * pc.hop + j), okB)) * w;
                } else {
                    z = vec2(padded(bA, int(mA * pc.hop + 2u * j), true) * tab1[pc.tWin + 2u * j],
                             padded(bA, int(mA * pc.hop + 2u * j + 1u), true) * tab1[pc.tWin + 2u * j + 1u]);
                }
                if ((pc.flags & 32u) != 0u) z = cmul(z, tab2[pc.tMul + j]);
            }
            out2[pc.oBase / 2u + sc + j] = z;
        } else if (MODE == 1) {
            const uint k = j;
            vec2 Zk = in2[pc.xBase / 2u + sc + k];
            vec2 Zm = in2[pc.xBase / 2u + sc + (k == 0u ? 0u : pc.N - k)];
            const float hs = 0.5 * pc.scale;
            vec2 Fe = hs * (Zk + conjc(Zm));
            vec2 d = Zk - conjc(Zm);
            vec2 Fo = hs * vec2(d.y, -d.x);
            const uint oA = pc.oBase / 2u + bA * pc.sB + mA * pc.sM, oB = pc.oBase / 2u + bB * pc.sB + mB * pc.sM;
            const bool inRange = k >= pc.f0 && k < pc.f1;
            if (odd) {
                if (inRange) out2[oA + (k - pc.f0) * pc.sF] = Fe;
                if (inRange && okB) out2[oB + (k - pc.f0) * pc.sF] = Fo;
            } else {
                vec2 X = Fe + cmul(tab2[pc.tPost + k], Fo);
                if (inRange) out2[oA + (k - pc.f0) * pc.sF] = X;
                uint f = 2u * pc.N - k;
                if ((pc.flags & 4u) != 0u && k > 0u && f >= pc.f0 && f < pc.f1) out2[oA + (f - pc.f0) * pc.sF] = conjc(X);
                if (k == 0u && pc.N >= pc.f0 && pc.N < pc.f1) out2[oA + (pc.N - pc.f0) * pc.sF] = vec2(Fe.x - Fo.x, 0.0);
            }
        } else if (MODE == 2) {
            const uint k = min(j, pc.N - 1u);
            const uint ib = pc.xBase / 2u;
            vec2 Z;
            if (odd) {
                const uint nh = (pc.N - 1u) / 2u;
                const uint kk = k <= nh ? k : pc.N - k;
                vec2 XA = in2[ib + bA * pc.sB + kk * pc.sF + mA * pc.sM];
                vec2 XB = okB ? in2[ib + bB * pc.sB + kk * pc.sF + mB * pc.sM] : vec2(0.0);
                if (k > nh) { XA = conjc(XA); XB = conjc(XB); }
                if (k == 0u) { XA.y = 0.0; XB.y = 0.0; }
                Z = XA + vec2(-XB.y, XB.x);
            } else {
                vec2 X = in2[ib + bA * pc.sB + k * pc.sF + mA * pc.sM];
                vec2 Xm = in2[ib + bA * pc.sB + (pc.N - k) * pc.sF + mA * pc.sM]; // k = 0: the Nyquist bin
                if (k == 0u) { X.y = 0.0; Xm.y = 0.0; }
                vec2 a = X + conjc(Xm), d = X - conjc(Xm);
                vec2 w = tab2[pc.tPost + k];
                Z = a + cmul(vec2(w.y, w.x), d); // a + i·conj(w)·d
            }
            if ((pc.flags & 16u) != 0u) Z = conjc(Z);
            out2[pc.oBase / 2u + sc + j] = j < pc.N ? Z : vec2(0.0);
        } else if (MODE == 3) {
            vec2 v = in2[pc.xBase / 2u + sc + j] * pc.scale;
            if ((pc.flags & 8u) != 0u) v = conjc(v);
            if (odd) {
                float w = tab1[pc.tWin + j];
                out1[pc.oBase + gA * pc.nfft + j] = v.x * w;
                if (okB) out1[pc.oBase + gB * pc.nfft + j] = v.y * w;
            } else {
                out1[pc.oBase + gA * pc.nfft + 2u * j] = v.x * tab1[pc.tWin + 2u * j];
                out1[pc.oBase + gA * pc.nfft + 2u * j + 1u] = v.y * tab1[pc.tWin + 2u * j + 1u];
            }
        } else {
            vec2 v = in2[pc.xBase / 2u + sc + j];
            if ((pc.flags & 8u) != 0u) v = conjc(v);
            if ((pc.flags & 32u) != 0u) v = cmul(v, tab2[pc.tMul + j]);
            if ((pc.flags & 16u) != 0u) v = conjc(v);
            out2[pc.oBase / 2u + sc + j] = v;
        }
    }
}
