// The K x TV state tile that a recurrent lane keeps in registers (gla_rec, delta_rec,
// delta_state): vec4 S[KP][TV4], all K rows (padded to KP, a multiple of 4) of columns
// v0 .. v0+TV-1 of one [K, V] float32 state starting at element SBASE. The including shader has
// KP, TV4, K, V and v0 in scope. Rows move 4 at a time through the bottom (load) or top (store)
// rows while the tile shifts, so the loops have few load and store sites (LLVM compile time on
// lavapipe) and every array index stays constant. That shifting form is what lavapipe gets; NVIDIA's
// compiler (driver 580, H200) produced wrong states from it (GLA and delta-rule recurrent forms
// and the delta rule's state pass: relative errors 0.04-1.5 in `vkbench verify`), so GPUs get the
// plain form, one load or store site per row, selected by the including shader's boolean
// specialization constant STATE_SHIFT (the branch not taken is removed when the pipeline is built).

// STATE_TILE_LOAD(S, LD, SBASE, ON): S = the tile, read with LD (an F32_LOAD function); rows at
// or past K, and every row when ON is false, are 0.
#define STATE_TILE_LOAD(S, LD, SBASE, ON) \
    if (STATE_SHIFT) { \
        [[dont_unroll]] for (int d4_ = 0; d4_ < KP; d4_ += 4) { \
            [[unroll]] for (int r_ = 0; r_ < KP - 4; r_++) \
                [[unroll]] for (int j_ = 0; j_ < TV4; j_++) S[r_][j_] = S[r_ + 4][j_]; \
            [[unroll]] for (int c_ = 0; c_ < 4; c_++) { \
                int d_ = d4_ + c_; \
                uint rb_ = (SBASE) + uint(min(d_, K - 1)) * uint(V); \
                bool on_ = d_ < K && (ON); \
                [[unroll]] for (int j_ = 0; j_ < TV4; j_++) S[KP - 4 + c_][j_] = mix(vec4(0.0), LD(rb_, v0 + 4 * j_, V), bvec4(on_)); \
            } \
        } \
    } else { \
        [[unroll]] for (int d_ = 0; d_ < KP; d_++) { \
            uint rb_ = (SBASE) + uint(min(d_, K - 1)) * uint(V); \
            bool on_ = d_ < K && (ON); \
            [[unroll]] for (int j_ = 0; j_ < TV4; j_++) S[d_][j_] = mix(vec4(0.0), LD(rb_, v0 + 4 * j_, V), bvec4(on_)); \
        } \
    }

// STATE_TILE_STORE(S, ST, SBASE): writes rows 0 .. K-1 of the tile with ST (an F32_STORE
// function); the shifting form consumes S.
#define STATE_TILE_STORE(S, ST, SBASE) \
    if (STATE_SHIFT) { \
        [[dont_unroll]] for (int d4_ = 0; d4_ < KP; d4_ += 4) { \
            [[unroll]] for (int c_ = 0; c_ < 4; c_++) { \
                int d_ = d4_ + c_; \
                if (d_ < K) { \
                    [[unroll]] for (int j_ = 0; j_ < TV4; j_++) ST((SBASE) + uint(d_) * uint(V), v0 + 4 * j_, V, S[c_][j_]); \
                } \
            } \
            [[unroll]] for (int r_ = 0; r_ < KP - 4; r_++) \
                [[unroll]] for (int j_ = 0; j_ < TV4; j_++) S[r_][j_] = S[r_ + 4][j_]; \
        } \
    } else { \
        [[unroll]] for (int d_ = 0; d_ < KP; d_++) { \
            if (d_ < K) { \
                [[unroll]] for (int j_ = 0; j_ < TV4; j_++) ST((SBASE) + uint(d_) * uint(V), v0 + 4 * j_, V, S[d_][j_]); \
            } \
        } \
    }
