package reference

import (
	"fmt"
	"math"
)

// SelectiveScanInput holds the operands of the Mamba-1 selective scan (S6),
// with the shapes and names of mamba-ssm's selective_scan_ref. All tensors
// are flat row-major slices:
//
//	U, Delta      [Batch, Dim, Len]     input and raw time step
//	A             [Dim, DState]         state matrix (usually negative)
//	B, C          [Batch, Groups, DState, Len]
//	D             [Dim]                 optional skip (nil: none)
//	Z             [Batch, Dim, Len]     optional gate (nil: none)
//	DeltaBias     [Dim]                 optional (nil: none)
//	InitialState  [Batch, Dim, DState]  optional (nil: zeros)
//
// Channel d reads group d / (Dim/Groups) of B and C, so Dim must be a
// multiple of Groups. Groups = 0 is taken as 1. Len may be 0 (empty output,
// last state = initial state).
type SelectiveScanInput struct {
	Batch, Dim, Len, DState, Groups int

	U, Delta, A, B, C []float64
	D, Z, DeltaBias   []float64

	// DeltaSoftplus applies softplus to Delta + DeltaBias (softplus(x) = x for
	// x > 20, log1p(exp(x)) otherwise, as torch.nn.functional.softplus).
	DeltaSoftplus bool

	InitialState []float64
}

// SelectiveScan runs the Mamba-1 selective scan in float64, exactly as
// mamba-ssm's selective_scan_ref (plus an optional initial state):
//
//	dt_t = softplus(delta_t + delta_bias) if DeltaSoftplus, else delta_t + delta_bias
//	x_t  = exp(dt_t A[d,:]) ⊙ x_{t-1} + dt_t B_t u_t     (x: one DState vector per (b, d))
//	y_t  = C_t · x_t + D[d] u_t
//	out  = y * silu(z) if Z is given, else y
//
// It returns out [Batch, Dim, Len] and lastState = x_{Len} [Batch, Dim, DState].
// The inputs are not modified; a wrong length or size is an error naming the
// operand.
func SelectiveScan(in SelectiveScanInput) (out, lastState []float64, err error) {
	const op = "selective_scan"
	bs, dim, l, n := in.Batch, in.Dim, in.Len, in.DState
	g, err := ssmGroups(op, "Dim", dim, in.Groups)
	if err != nil {
		return nil, nil, err
	}
	if err := ssmSizes(op, map[string]int{"Batch": bs, "Dim": dim, "Len": l, "DState": n}); err != nil {
		return nil, nil, err
	}
	bdl := fmt.Sprintf("[B,D,L] = [%d,%d,%d]", bs, dim, l)
	bgnl := fmt.Sprintf("[B,G,N,L] = [%d,%d,%d,%d]", bs, g, n, l)
	checks := []error{
		ssmCheckLen(op, "u", in.U, bs*dim*l, bdl, false),
		ssmCheckLen(op, "delta", in.Delta, bs*dim*l, bdl, false),
		ssmCheckLen(op, "A", in.A, dim*n, fmt.Sprintf("[D,N] = [%d,%d]", dim, n), false),
		ssmCheckLen(op, "B", in.B, bs*g*n*l, bgnl, false),
		ssmCheckLen(op, "C", in.C, bs*g*n*l, bgnl, false),
		ssmCheckLen(op, "D", in.D, dim, fmt.Sprintf("[D] = [%d]", dim), true),
		ssmCheckLen(op, "z", in.Z, bs*dim*l, bdl, true),
		ssmCheckLen(op, "delta_bias", in.DeltaBias, dim, fmt.Sprintf("[D] = [%d]", dim), true),
		ssmCheckLen(op, "initial_state", in.InitialState, bs*dim*n, fmt.Sprintf("[B,D,N] = [%d,%d,%d]", bs, dim, n), true),
	}
	for _, e := range checks {
		if e != nil {
			return nil, nil, e
		}
	}

	out = make([]float64, bs*dim*l)
	lastState = make([]float64, bs*dim*n)
	perGroup := dim / g
	x := make([]float64, n)
	for b := 0; b < bs; b++ {
		for d := 0; d < dim; d++ {
			grp := d / perGroup
			st := (b*dim + d) * n
			if in.InitialState != nil {
				copy(x, in.InitialState[st:st+n])
			} else {
				clear(x)
			}
			row := (b*dim + d) * l
			bcBase := (b*g + grp) * n * l
			for t := 0; t < l; t++ {
				u := in.U[row+t]
				dt := in.Delta[row+t]
				if in.DeltaBias != nil {
					dt += in.DeltaBias[d]
				}
				if in.DeltaSoftplus {
					dt = ssmSoftplus(dt)
				}
				y := 0.0
				for k := 0; k < n; k++ {
					bk := in.B[bcBase+k*l+t]
					ck := in.C[bcBase+k*l+t]
					x[k] = math.Exp(dt*in.A[d*n+k])*x[k] + dt*bk*u
					y += ck * x[k]
				}
				if in.D != nil {
					y += in.D[d] * u
				}
				if in.Z != nil {
					y *= ssmSiLU(in.Z[row+t])
				}
				out[row+t] = y
			}
			copy(lastState[st:st+n], x)
		}
	}
	return out, lastState, nil
}

// SelectiveStateUpdateInput holds one decode step of the Mamba-1 selective
// scan, with the shapes of mamba-ssm's selective_state_update (no head axis):
//
//	State      [Batch, Dim, DState]   state entering the step
//	X, Dt      [Batch, Dim]           this token's input and raw time step
//	A          [Dim, DState]
//	B, C       [Batch, Groups, DState]
//	D          [Dim]          optional
//	Z          [Batch, Dim]   optional gate
//	DtBias     [Dim]          optional
//
// Channel d reads group d / (Dim/Groups); Groups = 0 is taken as 1.
type SelectiveStateUpdateInput struct {
	Batch, Dim, DState, Groups int

	State, X, Dt, A, B, C []float64
	D, Z, DtBias          []float64

	// DtSoftplus applies softplus (threshold 20) to Dt + DtBias.
	DtSoftplus bool
}

// SelectiveStateUpdate advances the Mamba-1 state by one token (the decode
// form of SelectiveScan) and returns out [Batch, Dim] and the new state
// [Batch, Dim, DState]:
//
//	state' = exp(dt A) ⊙ state + dt B x;   out = (C · state' + D x) * silu(z)
//
// Calling it token by token from the same initial state gives the columns of
// SelectiveScan's output and, after the last token, its lastState. The inputs
// (State included) are not modified.
func SelectiveStateUpdate(in SelectiveStateUpdateInput) (out, newState []float64, err error) {
	const op = "selective_state_update"
	bs, dim, n := in.Batch, in.Dim, in.DState
	g, err := ssmGroups(op, "Dim", dim, in.Groups)
	if err != nil {
		return nil, nil, err
	}
	if err := ssmSizes(op, map[string]int{"Batch": bs, "Dim": dim, "DState": n}); err != nil {
		return nil, nil, err
	}
	bd := fmt.Sprintf("[B,D] = [%d,%d]", bs, dim)
	bgn := fmt.Sprintf("[B,G,N] = [%d,%d,%d]", bs, g, n)
	checks := []error{
		ssmCheckLen(op, "state", in.State, bs*dim*n, fmt.Sprintf("[B,D,N] = [%d,%d,%d]", bs, dim, n), false),
		ssmCheckLen(op, "x", in.X, bs*dim, bd, false),
		ssmCheckLen(op, "dt", in.Dt, bs*dim, bd, false),
		ssmCheckLen(op, "A", in.A, dim*n, fmt.Sprintf("[D,N] = [%d,%d]", dim, n), false),
		ssmCheckLen(op, "B", in.B, bs*g*n, bgn, false),
		ssmCheckLen(op, "C", in.C, bs*g*n, bgn, false),
		ssmCheckLen(op, "D", in.D, dim, fmt.Sprintf("[D] = [%d]", dim), true),
		ssmCheckLen(op, "z", in.Z, bs*dim, bd, true),
		ssmCheckLen(op, "dt_bias", in.DtBias, dim, fmt.Sprintf("[D] = [%d]", dim), true),
	}
	for _, e := range checks {
		if e != nil {
			return nil, nil, e
		}
	}
	out = make([]float64, bs*dim)
	newState = make([]float64, bs*dim*n)
	perGroup := dim / g
	for b := 0; b < bs; b++ {
		for d := 0; d < dim; d++ {
			i := b*dim + d
			dt := in.Dt[i]
			if in.DtBias != nil {
				dt += in.DtBias[d]
			}
			if in.DtSoftplus {
				dt = ssmSoftplus(dt)
			}
			bc := (b*g + d/perGroup) * n
			y := 0.0
			for k := 0; k < n; k++ {
				s := math.Exp(dt*in.A[d*n+k])*in.State[i*n+k] + dt*in.B[bc+k]*in.X[i]
				newState[i*n+k] = s
				y += in.C[bc+k] * s
			}
			if in.D != nil {
				y += in.D[d] * in.X[i]
			}
			if in.Z != nil {
				y *= ssmSiLU(in.Z[i])
			}
			out[i] = y
		}
	}
	return out, newState, nil
}

// ssmSoftplus is torch.nn.functional.softplus with beta 1 and threshold 20.
func ssmSoftplus(x float64) float64 {
	if x > 20 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// ssmSiLU is x * sigmoid(x).
func ssmSiLU(x float64) float64 {
	return x / (1 + math.Exp(-x))
}

// ssmCheckLen checks that operand name of op has want elements; a nil
// optional operand passes.
func ssmCheckLen(op, name string, x []float64, want int, shape string, optional bool) error {
	if optional && x == nil {
		return nil
	}
	if len(x) != want {
		what := "required"
		if optional {
			what = "optional"
		}
		return fmt.Errorf("reference: %s: %s (%s) has %d elements, want %s = %d", op, name, what, len(x), shape, want)
	}
	return nil
}

// ssmSizes checks that every named size is >= 0.
func ssmSizes(op string, sizes map[string]int) error {
	for _, name := range []string{"Batch", "Dim", "Len", "DState", "Heads", "HeadDim", "Width"} {
		if v, ok := sizes[name]; ok && v < 0 {
			return fmt.Errorf("reference: %s: size %s = %d, want >= 0", op, name, v)
		}
	}
	return nil
}

// ssmGroups resolves Groups (0 means 1) and checks that it divides the
// channel (or head) count, named dimName.
func ssmGroups(op, dimName string, dim, groups int) (int, error) {
	if groups == 0 {
		groups = 1
	}
	if groups < 0 {
		return 0, fmt.Errorf("reference: %s: Groups = %d, want >= 1 (0 means 1)", op, groups)
	}
	if dim%groups != 0 {
		return 0, fmt.Errorf("reference: %s: Groups = %d must divide %s = %d", op, groups, dimName, dim)
	}
	return groups, nil
}
