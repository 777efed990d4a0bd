// Activation storage shared by the SSM shaders (scan*, ssd*, conv1d*): float32, or float16 when
// the including .comp defines ACT_F16 1 (a separate module, so that float32 modules never declare
// the 16-bit storage capability). Values are always widened to float32 for arithmetic.
//   ACT_IN(binding, name)   declares name1[] (scalars) and name4[] (4-vectors) read-only
//   ACT_OUT(binding, name)  the same, write-only
//   ld1(name, i), ld4(name, i) read element i / 4-vector i as float / vec4
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
#define ACT_IN(b, n) \
    layout(std430, binding = b) readonly buffer n##S1 { ACT_T n##1[]; }; \
    layout(std430, binding = b) readonly buffer n##S4 { ACT_T4 n##4[]; };
#define ACT_OUT(b, n) \
    layout(std430, binding = b) writeonly buffer n##S1 { ACT_T n##1[]; }; \
    layout(std430, binding = b) writeonly buffer n##S4 { ACT_T4 n##4[]; };
#define ld1(n, i) float(n##1[i])
#define ld4(n, i) vec4(n##4[i])
#define st1(n, i, v) n##1[i] = ACT_T(v)
#define st4(n, i, v) n##4[i] = ACT_T4(v)
