package reference

import "fmt"

// CausalConv1DInput holds the operands of the causal depthwise conv1d of
// Mamba (causal_conv1d_fn). Flat row-major slices:
//
//	X              [Batch, Dim, Len]
//	Weight         [Dim, Width]
//	Bias           [Dim]                  optional (nil: 0)
//	InitialStates  [Batch, Dim, Width-1]  optional: the Width-1 inputs just
//	                                      before t = 0, oldest first (nil: zeros)
//
// Width must be >= 1 (the CUDA kernels take 2..4; the reference takes any).
// Activation is "" or "none" (identity), or "silu" ("swish" is accepted as
// its alias, as in causal_conv1d).
type CausalConv1DInput struct {
	Batch, Dim, Len, Width int

	X, Weight, Bias, InitialStates []float64

	Activation string
}

// CausalConv1D returns out [Batch, Dim, Len] and finalStates
// [Batch, Dim, Width-1], where, with x[t] for t < 0 read from InitialStates
// (x[-1] is its last column) or zero,
//
//	out[b,d,t] = act(bias[d] + Σ_{k<Width} weight[d,k] x[b,d,t-(Width-1)+k])
//
// and finalStates holds x[Len-(Width-1)], ..., x[Len-1], the last Width-1
// inputs, reaching back into InitialStates when Len < Width-1. The inputs are
// not modified.
func CausalConv1D(in CausalConv1DInput) (out, finalStates []float64, err error) {
	return causalConv("causal_conv1d", in, "initial_states", true)
}

// causalConv is CausalConv1D with the op and state names its errors use; optional says whether
// the state may be nil (zeros).
func causalConv(op string, in CausalConv1DInput, stateName string, optional bool) (out, finalStates []float64, err error) {
	bs, dim, l, w := in.Batch, in.Dim, in.Len, in.Width
	silu, err := convCheck(op, bs, dim, w, in.Weight, in.Bias, in.Activation)
	if err != nil {
		return nil, nil, err
	}
	if l < 0 {
		return nil, nil, fmt.Errorf("reference: %s: size Len = %d, want >= 0", op, l)
	}
	s := w - 1
	if err := ssmCheckLen(op, "x", in.X, bs*dim*l, fmt.Sprintf("[B,D,L] = [%d,%d,%d]", bs, dim, l), false); err != nil {
		return nil, nil, err
	}
	if err := ssmCheckLen(op, stateName, in.InitialStates, bs*dim*s, fmt.Sprintf("[B,D,W-1] = [%d,%d,%d]", bs, dim, s), optional); err != nil {
		return nil, nil, err
	}
	out = make([]float64, bs*dim*l)
	finalStates = make([]float64, bs*dim*s)
	for b := 0; b < bs; b++ {
		for d := 0; d < dim; d++ {
			row := (b*dim + d) * l
			st := (b*dim + d) * s
			// at returns x[t] for -s <= t < l.
			at := func(t int) float64 {
				if t >= 0 {
					return in.X[row+t]
				}
				if in.InitialStates == nil {
					return 0
				}
				return in.InitialStates[st+s+t]
			}
			for t := 0; t < l; t++ {
				acc := 0.0
				if in.Bias != nil {
					acc = in.Bias[d]
				}
				for k := 0; k < w; k++ {
					acc += in.Weight[d*w+k] * at(t-s+k)
				}
				if silu {
					acc = ssmSiLU(acc)
				}
				out[row+t] = acc
			}
			for j := 0; j < s; j++ {
				finalStates[st+j] = at(l - s + j)
			}
		}
	}
	return out, finalStates, nil
}

// CausalConv1DUpdateInput holds a decode step of the causal conv1d
// (causal_conv1d_update) for Len new tokens:
//
//	X       [Batch, Dim, Len]      new inputs (Len >= 1 usually small)
//	State   [Batch, Dim, Width-1]  the previous Width-1 inputs, oldest first
//	Weight  [Dim, Width]
//	Bias    [Dim]                  optional
type CausalConv1DUpdateInput struct {
	Batch, Dim, Len, Width int

	X, State, Weight, Bias []float64

	Activation string
}

// CausalConv1DUpdate returns out [Batch, Dim, Len] and the new state
// [Batch, Dim, Width-1]. It keeps a sliding window per channel: for each new
// token the window (State then the token) is shifted left by one, and the
// output is act(bias + weight · window): CausalConv1D run on the new tokens
// with the state as InitialStates, which is how it is computed here (the
// state is required). The inputs are not modified.
func CausalConv1DUpdate(in CausalConv1DUpdateInput) (out, newState []float64, err error) {
	return causalConv("causal_conv1d_update", CausalConv1DInput{
		Batch: in.Batch, Dim: in.Dim, Len: in.Len, Width: in.Width,
		X: in.X, Weight: in.Weight, Bias: in.Bias, InitialStates: in.State, Activation: in.Activation,
	}, "conv_state", false)
}

// convCheck validates the sizes, weight, bias and activation shared by the
// conv1d functions and reports whether SiLU is applied.
func convCheck(op string, bs, dim, w int, weight, bias []float64, act string) (bool, error) {
	if bs < 0 || dim < 0 {
		return false, fmt.Errorf("reference: %s: sizes Batch = %d, Dim = %d, want >= 0", op, bs, dim)
	}
	if w < 1 {
		return false, fmt.Errorf("reference: %s: Width = %d, want >= 1", op, w)
	}
	if err := ssmCheckLen(op, "weight", weight, dim*w, fmt.Sprintf("[D,W] = [%d,%d]", dim, w), false); err != nil {
		return false, err
	}
	if err := ssmCheckLen(op, "bias", bias, dim, fmt.Sprintf("[D] = [%d]", dim), true); err != nil {
		return false, err
	}
	switch act {
	case "", "none":
		return false, nil
	case "silu", "swish":
		return true, nil
	}
	return false, fmt.Errorf("reference: %s: activation = %q, want \"none\" (or \"\"), \"silu\" or \"swish\"", op, act)
}
