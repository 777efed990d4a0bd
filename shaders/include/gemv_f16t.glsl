// The body of linear_gemv_f16t and linear_gemv_norm_f16t (Linear for few rows on CPU devices,
// float16 weight): out[m, n] = sum_k x[m, k] * w[n, k] + bias[n]. A workgroup is one subgroup; it
// owns NR weight rows for MR rows of x and splits K across its lanes, lane l reading texels l,
// l + L, ... of each row, so that the lanes read each weight row contiguously (NR streams per
// workgroup); the lanes' partial sums meet in subgroupAdd. The includer declares MR, NR, TPL, the
// texel buffer w8t (RGBA32UI: 8 halves of w per texel), the storage buffers bias and o, the push
// constants M, N, K, has_bias, wb, ob, ldo, n0 (see linear_gemv_f16t.comp), and
//   vec4 xval(int r, uint t): floats 4t .. 4t+3 of row r (0 ≤ r < MR) of the workgroup's block of x.
// With GEMV_KEEP defined, the includer also declares float kept[MR][NR], which receives the
// products with their bias (every lane holds all of them) for an epilogue of its own.
void gemv_f16t(uint n0, uint m0) {
    uint L = gl_WorkGroupSize.x, lane = gl_LocalInvocationID.x;
    uint K8 = p.K / 8, wb = p.wb / 8;
    uint wr[NR];
    [[unroll]] for (int j = 0; j < NR; j++) wr[j] = wb + min(n0 + j, p.N - 1) * K8;
    float acc[MR][NR];
    [[unroll]] for (int r = 0; r < MR; r++)
        [[unroll]] for (int j = 0; j < NR; j++) acc[r][j] = 0.0;
    for (uint k0 = lane * TPL; k0 < K8; k0 += L * TPL) {
        [[unroll]] for (int u = 0; u < TPL; u++) {
            uint k = k0 + u;
            if (TPL > 1 && k >= K8) break;
            vec4 xa[MR], xc[MR];
            [[unroll]] for (int r = 0; r < MR; r++) {
                xa[r] = xval(r, 2 * k);
                xc[r] = xval(r, 2 * k + 1);
            }
            [[unroll]] for (int j = 0; j < NR; j++) {
                uvec4 q = texelFetch(w8t, int(wr[j] + k));
                vec4 w0 = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
                vec4 w1 = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
                [[unroll]] for (int r = 0; r < MR; r++) acc[r][j] += dot(xa[r], w0) + dot(xc[r], w1);
            }
        }
    }
    [[unroll]] for (int r = 0; r < MR; r++)
        [[unroll]] for (int j = 0; j < NR; j++) acc[r][j] = subgroupAdd(acc[r][j]);
#ifdef GEMV_KEEP
    [[unroll]] for (int j = 0; j < NR; j++) {
        float b = p.has_bias != 0 ? bias[p.n0 + min(n0 + j, p.N - 1)] : 0.0;
        [[unroll]] for (int r = 0; r < MR; r++) kept[r][j] = acc[r][j] + b;
    }
#endif
    // Lane j % L writes column j of each row.
    [[unroll]] for (int j = 0; j < NR; j++) {
        uint n = n0 + j;
        if (uint(j) % L != lane || n >= p.N) continue;
        float b = p.has_bias != 0 ? bias[p.n0 + n] : 0.0;
        [[unroll]] for (int r = 0; r < MR; r++)
            if (m0 + r < p.M) o[p.ob + (m0 + r) * p.ldo + p.n0 + n] = acc[r][j] + b;
    }
}
