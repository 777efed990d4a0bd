// Embedding gather, included by embedding.comp (float32 table) and embedding_f16.comp (float16
// table, ACT_F16 1): out[n, d] = table[ids[n], d] as float32, NaN where ids[n] is outside [0, V).
// Each invocation writes 4 consecutive elements of a row (a vec4 when VEC, i.e. D and tb multiples
// of 4); workgroups tile the row in x and take ids y, y + gridY, ... A table larger than a binding is gathered in windows of rows [v0, v1), starting at element
// tb of the bound window: each dispatch writes the rows whose id falls in its window, and the one
// with v0 = 0 also the NaN rows.
#include "ssm_io.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool VEC = false;
layout(std430, binding = 0) readonly buffer Ids { int ids[]; };
ACT_IN(1, tbl)
layout(std430, binding = 2) writeonly buffer O1 { float o1[]; };
layout(std430, binding = 2) writeonly buffer O4 { vec4 o4[]; };
layout(push_constant) uniform P { uint N, D, V, v0, v1, tb; } p;

void main() {
    uint c = 4 * gl_GlobalInvocationID.x;
    if (c >= p.D) return;
    for (uint n = gl_WorkGroupID.y; n < p.N; n += gl_NumWorkGroups.y) {
        int id = ids[n];
        bool ok = id >= 0 && uint(id) < p.V;
        if (ok ? (uint(id) < p.v0 || uint(id) >= p.v1) : p.v0 != 0) continue;
        uint src = p.tb + (ok ? uint(id) - p.v0 : 0u) * p.D + c;
        if (VEC) {
            o4[(n * p.D + c) / 4] = ok ? ld4(tbl, src / 4) : vec4(uintBitsToFloat(0x7fc00000u));
        } else {
            [[unroll]] for (uint k = 0; k < 4; k++)
                if (c + k < p.D) o1[n * p.D + c + k] = ok ? ld1(tbl, src + k) : uintBitsToFloat(0x7fc00000u);
        }
    }
}
