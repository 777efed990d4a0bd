// Activation storage shared by the SSM shaders (scan*, ssd*, conv1d*): float32, or float16 when
// the including .comp defines ACT_F16 1 (a separate module, so that float32 modules never declare
// the 16-bit storage capability). Values are always widened to float32 for arithmetic.
//   ACT_IN(binding, name)   declares name1[] (scalars) and name4[] (4-vectors) read-only
//   ACT_OUT(binding, name)  the same, write-only
//   ld1(name, i), ld4(name, i) read element i / 4-vector i as float / vec4 (TEXEL_IO: see below)
//   st1(name, i, v), st4(name, i, v) write
#ifndef ACT_F16
#define ACT_F16 0
#endif
#if ACT_F16
#extension GL_EXT_shader_16bit_storage : require
#define ACT_T float16_t
#define ACT_T4 f16vec4
#else
#define ACT_T float
#define ACT_T4 vec4
#endif
#ifndef TEXEL_IO
#define TEXEL_IO 0
#endif
#if TEXEL_IO
// TEXEL_IO (a separate module, CPU devices): read-only activations are bound as texel buffers
// (gpu.Texel: RGBA32UI texels of 4 float32 or 8 float16 values), which lavapipe reads with a
// gather where a storage-buffer load is a loop over the lanes. ld1 and ld4 keep their meaning.
#define ACT_IN(b, n) layout(binding = b) uniform usamplerBuffer n##T;
#if ACT_F16
vec4 tex_h4(usamplerBuffer t, uint i) {
    uvec4 q = texelFetch(t, int(i >> 1));
    uvec2 w = (i & 1u) != 0u ? q.zw : q.xy;
    return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
}
float tex_h1(usamplerBuffer t, uint i) {
    vec2 h = unpackHalf2x16(texelFetch(t, int(i >> 3))[(i >> 1) & 3u]);
    return (i & 1u) != 0u ? h.y : h.x;
}
#define ld1(n, i) tex_h1(n##T, uint(i))
#define ld4(n, i) tex_h4(n##T, uint(i))
#else
#define ld1(n, i) uintBitsToFloat(texelFetch(n##T, int(uint(i) >> 2))[uint(i) & 3u])
#define ld4(n, i) uintBitsToFloat(texelFetch(n##T, int(i)))
#endif
#else
#define ACT_IN(b, n) \
    layout(std430, binding = b) readonly buffer n##S1 { ACT_T n##1[]; }; \
    layout(std430, binding = b) readonly buffer n##S4 { ACT_T4 n##4[]; };
#define ld1(n, i) float(n##1[i])
#define ld4(n, i) vec4(n##4[i])
#endif
#define ACT_OUT(b, n) \
    layout(std430, binding = b) writeonly buffer n##S1 { ACT_T n##1[]; }; \
    layout(std430, binding = b) writeonly buffer n##S4 { ACT_T4 n##4[]; };
#define st1(n, i, v) n##1[i] = ACT_T(v)
#define st4(n, i, v) n##4[i] = ACT_T4(v)
