// The unrolled DFTs of fft_reg.comp and fft_reg2.comp (one frame per invocation, lavapipe): the
// including shader defines N1, N2, N and TAB2(j), the table's complex value j (w_N^j for j < N), first.
// DEFFFT(S, LS) defines fftS: the forward DFT of v in place (decimation in frequency, radix 4
// with one radix-2 stage first when LS is odd), bin k left at posS(k); every index a constant.
#define DEFFFT(S, LS) \
void fft##S(inout vec2 v[S]) { \
    if ((LS & 1) == 1) { \
        [[unroll]] for (uint j = 0; j < S / 2; j++) { \
            vec2 x[2] = vec2[2](v[j], v[j + S / 2]); \
            dft2(x); \
            v[j] = x[0]; \
            v[j + S / 2] = j == 0u ? x[1] : cmul(x[1], TAB2(j * (N / S))); \
        } \
    } \
    [[unroll]] for (uint s = 0; s < LS / 2; s++) { \
        const uint span = S >> ((LS & 1) + 2 * s), q = span / 4u; \
        [[unroll]] for (uint t = 0; t < S / 4; t++) { \
            const uint j = t % q, base = (t / q) * span; \
            vec2 x[4]; \
            [[unroll]] for (uint r = 0; r < 4u; r++) x[r] = v[base + j + r * q]; \
            dft4(x); \
            v[base + j] = x[0]; \
            [[unroll]] for (uint r = 1; r < 4u; r++) \
                v[base + j + r * q] = j == 0u ? x[r] : cmul(x[r], TAB2(r * j * (N / span))); \
        } \
    } \
} \
uint pos##S(uint k) { \
    uint p = 0, size = S; \
    if ((LS & 1) == 1) { size /= 2u; p += (k % 2u) * size; k /= 2u; } \
    [[unroll]] for (uint s = 0; s < LS / 2; s++) { size /= 4u; p += (k % 4u) * size; k /= 4u; } \
    return p; \
}
DEFFFT(4, 2)
DEFFFT(8, 3)
DEFFFT(16, 4)
DEFFFT(32, 5)

// fft1 / fft2 run the DFT of size N1 / N2 on the first N1 / N2 values of v; the result's bin k
// is at pos1(k) / pos2(k).
void fft1(inout vec2 v[32]) {
    if (N1 == 8u) { vec2 u[8]; [[unroll]] for (uint i = 0; i < 8u; i++) u[i] = v[i]; fft8(u); [[unroll]] for (uint i = 0; i < 8u; i++) v[i] = u[i]; }
    if (N1 == 16u) { vec2 u[16]; [[unroll]] for (uint i = 0; i < 16u; i++) u[i] = v[i]; fft16(u); [[unroll]] for (uint i = 0; i < 16u; i++) v[i] = u[i]; }
    if (N1 == 32u) fft32(v);
}
void fft2(inout vec2 v[32]) {
    if (N2 == 4u) { vec2 u[4]; [[unroll]] for (uint i = 0; i < 4u; i++) u[i] = v[i]; fft4(u); [[unroll]] for (uint i = 0; i < 4u; i++) v[i] = u[i]; }
    if (N2 == 8u) { vec2 u[8]; [[unroll]] for (uint i = 0; i < 8u; i++) u[i] = v[i]; fft8(u); [[unroll]] for (uint i = 0; i < 8u; i++) v[i] = u[i]; }
    if (N2 == 16u) { vec2 u[16]; [[unroll]] for (uint i = 0; i < 16u; i++) u[i] = v[i]; fft16(u); [[unroll]] for (uint i = 0; i < 16u; i++) v[i] = u[i]; }
    if (N2 == 32u) fft32(v);
}
uint pos1(uint k) { return N1 == 8u ? pos8(k) : N1 == 16u ? pos16(k) : pos32(k); }
uint pos2(uint k) { return N2 == 4u ? pos4(k) : N2 == 8u ? pos8(k) : N2 == 16u ? pos16(k) : pos32(k); }
