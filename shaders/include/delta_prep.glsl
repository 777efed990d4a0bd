// Delta rule chunked form (ops/delta.go), pass 1 of 6: per-row operands in float32 scratch
// (included by delta_prep.comp and delta_prep_f16.comp). One invocation owns chunk c of head h
// and walks its rows i in order, with G_i the inclusive cumulative sum of g inside the chunk
// (0 when ungated) and q̂, k̂ the rows normalised when L2 (x / sqrt(Σx² + 1e-6)), else as given:
//   kn[i] = k̂_i               qn[i] = q̂_i            (width Kp, zero padded)
//   qs[i] = scale e^{G_i} q̂_i  kw[i] = beta_i e^{G_i} k̂_i
//   vb[i] = beta_i v_i         (width V)               gb[i] = (G_i, beta_i)
// Scratch rows are counted from rowBase (the segment's first row). With g <= 0 every e^{G_i} is at
// most 1; it underflows to 0 only where the true contribution does.
#include "gla_io.glsl"
#include "grid.glsl"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const bool K4 = false; // K % 4 == 0
layout(constant_id = 2) const bool V4 = false; // V % 4 == 0
layout(constant_id = 3) const bool GATED = false;
layout(constant_id = 4) const bool L2 = false;

layout(std430, binding = 0) readonly buffer Tab { int tab[]; };
SEQ_BUF(1, q, readonly)
SEQ_BUF(2, k, readonly)
SEQ_BUF(3, v, readonly)
SEQ_BUF(4, beta, readonly)
SEQ_BUF(5, g, readonly)
layout(std430, binding = 6) writeonly buffer Kn { vec4 kn4[]; };
layout(std430, binding = 7) writeonly buffer Qn { vec4 qn4[]; };
layout(std430, binding = 8) writeonly buffer Qs { vec4 qs4[]; };
layout(std430, binding = 9) writeonly buffer Kw { vec4 kw4[]; };
F32_BUF(10, vb, writeonly)
layout(std430, binding = 11) writeonly buffer Gb { vec2 gb[]; };
layout(push_constant) uniform P { int H, K, V, Kp, N, segA, segB, rowBase; float scale; } p;
SEQ_LOAD(q, K4)
SEQ_LOAD(k, K4)
SEQ_LOAD(v, V4)
F32_STORE(vb, V4)

void main() {
    int id = int(linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    const int H = p.H, K = p.K, V = p.V;
    int h = id % H, c = p.segA + id / H;
    if (c >= p.segB) return;
    int row0 = tab[2 * p.N + 2 * c], len = tab[2 * p.N + 2 * c + 1];

    float G = 0.0;
    for (int i = 0; i < len; i++) {
        uint eh = uint((row0 + i) * H + h);
        uint ek = eh * uint(K), ev = eh * uint(V);
        float bt = float(beta1[eh]);
        if (GATED) G += float(g1[eh]);
        float rk = 1.0, rq = 1.0;
        if (L2) {
            float kk = 0.0, qq = 0.0;
            for (int d = 0; d < p.Kp; d += 4) {
                vec4 kr = ld_k(ek, d, K), qr = ld_q(ek, d, K);
                kk += dot(kr, kr);
                qq += dot(qr, qr);
            }
            rk = 1.0 / sqrt(kk + 1e-6);
            rq = 1.0 / sqrt(qq + 1e-6);
        }
        float eg = exp(G);
        uint ob = uint((row0 + i - p.rowBase) * H + h);
        uint o4 = (ob * uint(p.Kp)) >> 2;
        for (int d = 0; d < p.Kp; d += 4) {
            vec4 kr = ld_k(ek, d, K) * rk, qr = ld_q(ek, d, K) * rq;
            uint x = o4 + uint(d >> 2);
            kn4[x] = kr;
            qn4[x] = qr;
            qs4[x] = qr * (p.scale * eg);
            kw4[x] = kr * (bt * eg);
        }
        for (int d = 0; d < V; d += 4) st_vb(ob * uint(V), d, V, ld_v(ev, d, V) * bt);
        gb[ob] = vec2(G, bt);
    }
}
