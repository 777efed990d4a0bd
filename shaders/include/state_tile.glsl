// The K x TV state tile that a recurrent lane keeps in registers (gla_rec, delta_rec,
// delta_state): vec4 S[KP][TV4], all K rows (padded to KP, a multiple of 4) of columns
// v0 .. v0+TV-1 of one [K, V] float32 state starting at element SBASE. The including shader has
// KP, TV4, K, V and v0 in scope. Rows move 4 at a time through the bottom (load) or top (store)
// rows while the tile shifts, so the loops have few load and store sites (LLVM compile time on
// lavapipe) and every array index stays constant.

// STATE_TILE_LOAD(S, LD, SBASE, ON): S = the tile, read with LD (an F32_LOAD function); rows at
// or past K, and every row when ON is false, are 0.
#define STATE_TILE_LOAD(S, LD, SBASE, ON) \
    [[dont_unroll]] for (int d4_ = 0; d4_ < KP; d4_ += 4) { \
        [[unroll]] for (int r_ = 0; r_ < KP - 4; r_++) \
            [[unroll]] for (int j_ = 0; j_ < TV4; j_++) S[r_][j_] = S[r_ + 4][j_]; \
        [[unroll]] for (int c_ = 0; c_ < 4; c_++) { \
            int d_ = d4_ + c_; \
            uint rb_ = (SBASE) + uint(min(d_, K - 1)) * uint(V); \
            bool on_ = d_ < K && (ON); \
            [[unroll]] for (int j_ = 0; j_ < TV4; j_++) S[KP - 4 + c_][j_] = mix(vec4(0.0), LD(rb_, v0 + 4 * j_, V), bvec4(on_)); \
        } \
    }

// STATE_TILE_STORE(S, ST, SBASE): writes rows 0 .. K-1 of the tile with ST (an F32_STORE
// function), shifting the tile (S is consumed).
#define STATE_TILE_STORE(S, ST, SBASE) \
    [[dont_unroll]] for (int d4_ = 0; d4_ < KP; d4_ += 4) { \
        [[unroll]] for (int c_ = 0; c_ < 4; c_++) { \
            int d_ = d4_ + c_; \
            if (d_ < K) { \
                [[unroll]] for (int j_ = 0; j_ < TV4; j_++) ST((SBASE) + uint(d_) * uint(V), v0 + 4 * j_, V, S[c_][j_]); \
            } \
        } \
        [[unroll]] for (int r_ = 0; r_ < KP - 4; r_++) \
            [[unroll]] for (int j_ = 0; j_ < TV4; j_++) S[r_][j_] = S[r_ + 4][j_]; \
    }
