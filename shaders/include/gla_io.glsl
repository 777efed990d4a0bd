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

// Chunk length of the chunked form and its sub-chunk (DESIGN.md section 4).
const int GLA_C = 64;
const int GLA_SUB = 16;

#define SEQ_BUF(b, name, acc) \
    layout(std430, binding = b) acc buffer name##_s { SEQ_T name##1[]; }; \
    layout(std430, binding = b) acc buffer name##_v { SEQ_T4 name##4[]; };
#define F32_BUF(b, name, acc) \
    layout(std430, binding = b) acc buffer name##_s { float name##1[]; }; \
    layout(std430, binding = b) acc buffer name##_v { vec4 name##4[]; };

// ld_NAME(e, n): elements e .. e+3 of NAME as a vec4, the ones at or past n valid elements
// (n = row length - position, may be <= 0) read as 0. VEC: e is a multiple of 4 whenever n >= 4.
#define SEQ_LOAD(name, VEC) \
    vec4 ld_##name(uint e, int n) { \
        if (VEC && n >= 4) return vec4(name##4[e >> 2]); \
        vec4 r = vec4(0.0); \
        [[unroll]] for (int c = 0; c < 4; c++) if (c < n) r[c] = float(name##1[e + c]); \
        return r; \
    }

// st_NAME(e, n, x): stores the first min(n, 4) components of x at elements e ...
#define SEQ_STORE(name, VEC) \
    void st_##name(uint e, int n, vec4 x) { \
        if (VEC && n >= 4) { name##4[e >> 2] = SEQ_T4(x); return; } \
        [[unroll]] for (int c = 0; c < 4; c++) if (c < n) name##1[e + c] = SEQ_T(x[c]); \
    }
#define F32_LOAD(name, VEC) \
    vec4 ld_##name(uint e, int n) { \
        if (VEC && n >= 4) return name##4[e >> 2]; \
        vec4 r = vec4(0.0); \
        [[unroll]] for (int c = 0; c < 4; c++) if (c < n) r[c] = name##1[e + c]; \
        return r; \
    }
#define F32_STORE(name, VEC) \
    void st_##name(uint e, int n, vec4 x) { \
        if (VEC && n >= 4) { name##4[e >> 2] = x; return; } \
        [[unroll]] for (int c = 0; c < 4; c++) if (c < n) name##1[e + c] = x[c]; \
    }
