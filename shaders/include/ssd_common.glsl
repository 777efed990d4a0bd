// Shared by the Mamba-2 SSD shaders (ssd_prep, ssd_cb, ssd_state, ssd_out, ssd_rec).
//
// Layouts (row-major): x, z, out [B, L, H, P]; dt [B, L, H]; B, C [B, L, G, N] (head h reads
// group h / (H/G)); A, D, dt_bias [H]; states [B, H, P, N] float32. The chunked kernels keep in
// float32 scratch: dtp and G [B, H, Lp] (Lp = chunks * Q: the processed time step and its
// inclusive cumulative sum of dtp*A inside each chunk), the states entering each chunk of a
// segment [nb, H, S, P, N] and the chunks' C·Bᵀ [nb, G, S, Q, Q].
//
// Activations are bound per part (a batch range and a segment of chunks) through windows: the
// element of (local batch bl, segment-local token tl) is base + (bl * tokStride + tl) * rowLen.
#include "grid.glsl"
#include "math.glsl"
#include "ssm_io.glsl"

// VEC: P and N are multiples of 4 and the window bases too: 4-vector accesses along P and N.
layout(constant_id = 1) const bool VEC = false;

// ldv(buf, i, valid): elements [i, i+4) of an activation buffer as a vec4, of which the first
// `valid` exist (the rest read as 0); i is a multiple of 4 when VEC.
#define ldv(n, i, valid) (VEC ? ld4(n, (i) / 4) : vec4((valid) > 0 ? ld1(n, (i)) : 0.0, (valid) > 1 ? ld1(n, (i) + 1) : 0.0, \
                                                      (valid) > 2 ? ld1(n, (i) + 2) : 0.0, (valid) > 3 ? ld1(n, (i) + 3) : 0.0))
// A float32 input (F32_IN): f1(name, i) element i, f4(name, i) 4-vector i.
#if TEXEL_IO
#define F32_IN(b, n) layout(binding = b) uniform usamplerBuffer n##T;
#define f1(n, i) uintBitsToFloat(texelFetch(n##T, int(uint(i) >> 2))[uint(i) & 3u])
#define f4(n, i) uintBitsToFloat(texelFetch(n##T, int(i)))
#else
#define F32_IN(b, n) \
    layout(std430, binding = b) readonly buffer n##S1 { float n##1[]; }; \
    layout(std430, binding = b) readonly buffer n##S4 { vec4 n##4[]; };
#define f1(n, i) n##1[i]
#define f4(n, i) n##4[i]
#endif
// ldv for a float32 input.
#define ldf(n, i, valid) (VEC ? f4(n, (i) / 4) : vec4((valid) > 0 ? f1(n, (i)) : 0.0, (valid) > 1 ? f1(n, (i) + 1) : 0.0, \
                                                      (valid) > 2 ? f1(n, (i) + 2) : 0.0, (valid) > 3 ? f1(n, (i) + 3) : 0.0))
#define F32_OUT(b, n) \
    layout(std430, binding = b) writeonly buffer n##S1 { float n##1[]; }; \
    layout(std430, binding = b) writeonly buffer n##S4 { vec4 n##4[]; };
// Store the first `valid` elements of v at [i, i+4) of a float32 output.
#define stf(n, i, v, valid) { if (VEC) { if ((valid) >= 4) n##4[(i) / 4] = (v); } else { \
    [[unroll]] for (int c_ = 0; c_ < 4; c_++) if (c_ < int(valid)) n##1[(i) + c_] = (v)[c_]; } }

// Clamped count of valid elements from index k of a dimension of size n.
int nvalid(uint k, uint n) { return k >= n ? 0 : int(min(n - k, 4u)); }
