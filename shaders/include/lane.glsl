// The lane prologue of the state-tile kernels (gla_rec, delta_rec, gla_state, delta_state): each
// invocation owns a tile of one sequence's state for one head. Include it after the push-constant
// block p, which must hold H, N and nVT (and T and varlen for lane_tokens, with the cu buffer
// declared and LANE_TOKENS defined; p.segA and p.segB for lane_chunks, with the tab buffer
// declared and LANE_CHUNKS defined). Needs grid.glsl.

// lane_tile splits the invocation's linear index into the state's column tile vt (of p.nVT), row
// tile kt (of nKT; 1 when the tile holds every row), head h and sequence n. It returns false for
// the padding invocations past the last sequence (n >= p.N), which must return at once.
bool lane_tile(int nKT, out int vt, out int kt, out int h, out int n) {
    int id = int(linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x);
    vt = id % p.nVT;
    id /= p.nVT;
    kt = id % nKT;
    id /= nKT;
    h = id % p.H;
    n = id / p.H;
    return n < p.N;
}

#ifdef LANE_TOKENS
// lane_tokens gives the tokens a .. b-1 of sequence n: cu[n] .. cu[n+1] clamped into [0, T]
// (varlen; a decreasing offset gives an empty sequence) or the T rows of batch n.
void lane_tokens(int n, out int a, out int b) {
    a = n * p.T;
    b = a + p.T;
    if (p.varlen != 0) {
        a = clamp(cu[n], 0, p.T);
        b = clamp(cu[n + 1], a, p.T);
    }
}
#endif

#ifdef LANE_CHUNKS
// lane_chunks gives the chunks ca .. cb-1 of sequence n that fall in the segment p.segA ..
// p.segB, from the chunk table (tab[2n] = first chunk, tab[2n+1] = chunk count; gla_plan.comp).
void lane_chunks(int n, out int ca, out int cb) {
    int c0 = tab[2 * n], nc = tab[2 * n + 1];
    ca = max(c0, p.segA);
    cb = min(c0 + nc, p.segB);
}
#endif
