package reference

import "math"

// GLAOptions are the optional inputs of GLA.
type GLAOptions struct {
	// Scale multiplies q. nil means DefaultScale(K) = K^-0.5; any finite value
	// (0 included) is used as given.
	Scale *float64
	// InitialState is [N, H, K, V]; nil means zeros.
	InitialState []float64
	// CuSeqlens, when non-nil, switches to variable-length mode: B must be 1,
	// and CuSeqlens ([N+1], starting at 0, non-decreasing, last = T) splits
	// the T tokens into N sequences that run independently, each from its own
	// row of InitialState. Empty sequences are legal (their final state is
	// their initial state).
	CuSeqlens []int32
}

// GLA is gated linear attention as the plain float64 recurrence of docs/design.md
// §5. For every sequence and head, with state S (K×V) starting at the
// initial state:
//
//	S_t = diag(exp(g_t)) S_{t-1} + k_t v_tᵀ
//	o_t = S_tᵀ (scale · q_t)
//
// Inputs: q, k, g [B, T, H, K] (g: log-space decay, any real value is
// accepted here), v [B, T, H, V]. Returns o [B, T, H, V] and the final states
// [N, H, K, V] (N = B, or len(CuSeqlens) − 1). Inputs are not modified; wrong
// lengths, shapes or options are errors.
func GLA(q, k, v, g []float64, s LinearAttnShape, opt GLAOptions) (o, finalState []float64, err error) {
	const op = "gla"
	seqs, scale, err := varlenPlan(op, s, opt.Scale, opt.CuSeqlens, opt.InitialState)
	if err != nil {
		return nil, nil, err
	}
	nK, nV := s.B*s.T*s.H*s.K, s.B*s.T*s.H*s.V
	for _, c := range []struct {
		name string
		x    []float64
		dims string
		want int
	}{{"q", q, "B*T*H*K", nK}, {"k", k, "B*T*H*K", nK}, {"g", g, "B*T*H*K", nK}, {"v", v, "B*T*H*V", nV}} {
		if err := varlenCheckLen(op, c.name, c.x, c.dims, c.want); err != nil {
			return nil, nil, err
		}
	}

	K, V, H := s.K, s.V, s.H
	o = make([]float64, nV)
	finalState = make([]float64, len(seqs)*H*K*V)
	for n, sq := range seqs {
		for h := range H {
			S := finalState[(n*H+h)*K*V : (n*H+h+1)*K*V]
			if opt.InitialState != nil {
				copy(S, opt.InitialState[(n*H+h)*K*V:])
			}
			for t := sq.start; t < sq.end; t++ {
				row := (sq.b*s.T+t)*H + h // index of token t, head h
				qt, kt, gt := q[row*K:(row+1)*K], k[row*K:(row+1)*K], g[row*K:(row+1)*K]
				vt, ot := v[row*V:(row+1)*V], o[row*V:(row+1)*V]
				for i := range K {
					decay := math.Exp(gt[i])
					Si := S[i*V : (i+1)*V]
					for j := range V {
						Si[j] = decay*Si[j] + kt[i]*vt[j]
					}
				}
				for i := range K {
					qi := scale * qt[i]
					Si := S[i*V : (i+1)*V]
					for j := range V {
						ot[j] += qi * Si[j]
					}
				}
			}
		}
	}
	return o, finalState, nil
}
