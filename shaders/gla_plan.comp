#version 450
// Chunk plan of the chunked GLA (ops/gla.go): one invocation writes, for sequences n < N,
// tab[2n] = first chunk, tab[2n+1] = number of chunks, and for chunks c < NC,
// tab[2N+2c] = first row (index into the B*T rows of [B,T,H,*]), tab[2N+2c+1] = length (1..64).
// Sequences are cu[n] .. cu[n+1] (VARLEN, offsets clamped into [0, T]) or rows n*T .. n*T+T.
// Chunks never cross a sequence; an empty sequence has no chunk. NC bounds every write.
#include "gla_io.glsl"
layout(local_size_x = 1) in;
layout(std430, binding = 0) readonly buffer Cu { int cu[]; };
layout(std430, binding = 1) writeonly buffer Tab { int tab[]; };
layout(push_constant) uniform P { int N, T, NC, varlen; } p;

void main() {
    int c = 0;
    for (int n = 0; n < p.N; n++) {
        int a = n * p.T, b = a + p.T;
        if (p.varlen != 0) {
            a = clamp(cu[n], 0, p.T);
            b = clamp(cu[n + 1], a, p.T);
        }
        int nc = min((b - a + GLA_C - 1) / GLA_C, p.NC - c);
        tab[2 * n] = c;
        tab[2 * n + 1] = nc;
        for (int i = 0; i < nc; i++, c++) {
            tab[2 * p.N + 2 * c] = a + GLA_C * i;
            tab[2 * p.N + 2 * c + 1] = min(GLA_C, b - a - GLA_C * i);
        }
    }
}
