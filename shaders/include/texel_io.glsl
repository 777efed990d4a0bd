// Reads through uniform texel buffers of RGBA32UI texels (gpu.Texel bindings), for the texel
// variants of the decode kernels on CPU devices (on lavapipe a texel fetch is a gather where a
// storage-buffer load is a loop over the lanes). A texel holds 4 float32 or 8 float16 values;
// the including shader defines TEXEL_HALF 1 before including this file when its activations are
// float16. Indices are elements; a 4-element read (TX4) starts at a multiple of 4, so that it lies
// within one texel (half a texel of halves). Fetches past the view read 0.
//   TX4(t, e)   elements e .. e+3 of activation texel buffer t as a vec4
//   TX1(t, e)   element e of activation texel buffer t
//   TXF4(t, e), TXF1(t, e)   the same for a float32 buffer (states), whatever the activations
#ifndef TEXEL_HALF
#define TEXEL_HALF 0
#endif
vec4 txh4_(uvec4 w, uint e) {
    uvec2 h = (e & 4u) != 0u ? w.zw : w.xy;
    return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
}
float txh1_(uvec4 w, uint e) {
    vec2 f = unpackHalf2x16(w[(e >> 1) & 3u]);
    return (e & 1u) != 0u ? f.y : f.x;
}
#define TXF4(t, e) uintBitsToFloat(texelFetch(t, int((e) >> 2)))
#define TXF1(t, e) uintBitsToFloat(texelFetch(t, int((e) >> 2))[(e) & 3u])
#if TEXEL_HALF
#define TX4(t, e) txh4_(texelFetch(t, int((e) >> 3)), (e))
#define TX1(t, e) txh1_(texelFetch(t, int((e) >> 3)), (e))
#else
#define TX4(t, e) TXF4(t, e)
#define TX1(t, e) TXF1(t, e)
#endif
// TX_LOAD(name, F) defines ld_name(base, d, n): elements d .. d+3 of the row of n elements at
// element base of texel buffer name_t, read with F (TX4 or TXF4), 0 where d + 4 > n; the shape
// of gla_io.glsl's SEQ_LOAD, for the texel variants of the recurrent kernels.
#define TX_LOAD(name, F) \
    vec4 ld_##name(uint base, int d, int n) { return mix(vec4(0.0), F(name##_t, base + uint(d)), bvec4(d + 4 <= n)); }
