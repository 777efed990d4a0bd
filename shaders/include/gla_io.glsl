// Storage helpers shared by the GLA kernels (shaders/gla_*.comp).
//
// Sequence tensors (q, k, v, g, o) are float16 when the including .comp defines GLA_F16 before
// including this file (those modules need storageBuffer16BitAccess), float32 otherwise; states
// and scratch buffers are always float32. Every tensor is declared twice on its binding, as
// scalars (x1) and as 4-vectors (x4), so that a load of 4 consecutive elements is one vec4
// access when the row length is a multiple of 4 (spec constant), and 4 masked scalars otherwise.
#extension GL_EXT_control_flow_attributes : require
#ifdef GLA_F16
#extension GL_EXT_shader_16bit_storage : require
#define SEQ_T float16_t
#define SEQ_T4 f16vec4
#else
#define SEQ_T float
#define SEQ_T4 vec4
#endif

// Chunk length of the chunked form and its sub-chunk (docs/design.md §5).
const int GLA_C = 64;
const int GLA_SUB = 16;

#define SEQ_BUF(b, name, acc) \
    layout(std430, binding = b) acc buffer name##_s { SEQ_T name##1[]; }; \
    layout(std430, binding = b) acc buffer name##_v { SEQ_T4 name##4[]; };
#define F32_BUF(b, name, acc) \
    layout(std430, binding = b) acc buffer name##_s { float name##1[]; }; \
    layout(std430, binding = b) acc buffer name##_v { vec4 name##4[]; };

// ld_NAME(base, d, n): elements d .. d+3 of the row of n elements starting at element base, as a
// vec4; those at or past n read as 0. Every load is unconditional, its index clamped into the row
// (branches around loads cost lavapipe dearly). VEC (a spec constant: the row length, hence base
// and d, are multiples of 4) selects one vec4 load, otherwise 4 scalar loads.
#define SEQ_LOAD(name, VEC) \
    vec4 ld_##name(uint base, int d, int n) { \
        if (VEC) { \
            vec4 x = vec4(name##4[(base + uint(clamp(d, 0, n - 4))) >> 2]); \
            return mix(vec4(0.0), x, bvec4(d + 4 <= n)); \
        } \
        vec4 r; \
        [[unroll]] for (int c = 0; c < 4; c++) { \
            float x = float(name##1[base + uint(clamp(d + c, 0, n - 1))]); \
            r[c] = mix(0.0, x, d + c < n); \
        } \
        return r; \
    }
#define F32_LOAD(name, VEC) \
    vec4 ld_##name(uint base, int d, int n) { \
        if (VEC) { \
            vec4 x = name##4[(base + uint(clamp(d, 0, n - 4))) >> 2]; \
            return mix(vec4(0.0), x, bvec4(d + 4 <= n)); \
        } \
        vec4 r; \
        [[unroll]] for (int c = 0; c < 4; c++) { \
            float x = name##1[base + uint(clamp(d + c, 0, n - 1))]; \
            r[c] = mix(0.0, x, d + c < n); \
        } \
        return r; \
    }

// st_NAME(base, d, n, x): stores the components of x that fall before n at elements base+d ...
#define SEQ_STORE(name, VEC) \
    void st_##name(uint base, int d, int n, vec4 x) { \
        if (VEC) { \
            if (d + 4 <= n) name##4[(base + uint(d)) >> 2] = SEQ_T4(x); \
        } else { \
            [[unroll]] for (int c = 0; c < 4; c++) if (d + c < n) name##1[base + uint(d + c)] = SEQ_T(x[c]); \
        } \
    }
#define F32_STORE(name, VEC) \
    void st_##name(uint base, int d, int n, vec4 x) { \
        if (VEC) { \
            if (d + 4 <= n) name##4[(base + uint(d)) >> 2] = x; \
        } else { \
            [[unroll]] for (int c = 0; c < 4; c++) if (d + c < n) name##1[base + uint(d + c)] = x[c]; \
        } \
    }
