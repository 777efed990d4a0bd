package reference

import (
	"fmt"
	"math"
)

// SSDInput holds the operands of the Mamba-2 state-space dual (SSD) scan with
// the shapes and names of mamba-ssm's mamba_chunk_scan_combined. All tensors
// are flat row-major slices:
//
//	X              [Batch, Len, Heads, HeadDim]   (HeadDim = P)
//	Dt             [Batch, Len, Heads]
//	A              [Heads]                  one scalar per head
//	B, C           [Batch, Len, Groups, DState]   (DState = N)
//	D              [Heads]                  optional skip
//	Z              [Batch, Len, Heads, HeadDim]   optional gate
//	DtBias         [Heads]                  optional
//	InitialStates  [Batch, Heads, HeadDim, DState]  optional (nil: zeros)
//
// Head h reads group h / (Heads/Groups) of B and C, so Heads must be a
// multiple of Groups. Groups = 0 is taken as 1.
type SSDInput struct {
	Batch, Len, Heads, HeadDim, Groups, DState int

	X, Dt, A, B, C []float64
	D, Z, DtBias   []float64

	// DtSoftplus applies softplus (threshold 20) to Dt + DtBias.
	DtSoftplus bool

	InitialStates []float64
}

// SSD runs the Mamba-2 scan in float64 as the plain recurrence, per batch
// and head (S is HeadDim×DState):
//
//	dt_t = softplus(dt_t + dt_bias) if DtSoftplus, else dt_t + dt_bias
//	S_t  = exp(dt_t A_h) S_{t-1} + dt_t x_t B_tᵀ
//	y_t  = S_t C_t + D_h x_t;   out = y * silu(z) if Z is given
//
// It returns out [Batch, Len, Heads, HeadDim] and finalStates
// [Batch, Heads, HeadDim, DState]. dt is not clamped: mamba_chunk_scan_combined
// also clamps dt to dt_limit (default (0, inf)), which only matters when dt
// is negative, i.e. without softplus. The inputs are not modified.
func SSD(in SSDInput) (out, finalStates []float64, err error) {
	const op = "ssd"
	bs, l, hs, p, n := in.Batch, in.Len, in.Heads, in.HeadDim, in.DState
	g, err := ssmGroups(op, "Heads", hs, in.Groups)
	if err != nil {
		return nil, nil, err
	}
	if err := ssmSizes(op, map[string]int{"Batch": bs, "Len": l, "Heads": hs, "HeadDim": p, "DState": n}); err != nil {
		return nil, nil, err
	}
	blhp := fmt.Sprintf("[B,L,H,P] = [%d,%d,%d,%d]", bs, l, hs, p)
	blgn := fmt.Sprintf("[B,L,G,N] = [%d,%d,%d,%d]", bs, l, g, n)
	hShape := fmt.Sprintf("[H] = [%d]", hs)
	checks := []error{
		ssmCheckLen(op, "x", in.X, bs*l*hs*p, blhp, false),
		ssmCheckLen(op, "dt", in.Dt, bs*l*hs, fmt.Sprintf("[B,L,H] = [%d,%d,%d]", bs, l, hs), false),
		ssmCheckLen(op, "A", in.A, hs, hShape, false),
		ssmCheckLen(op, "B", in.B, bs*l*g*n, blgn, false),
		ssmCheckLen(op, "C", in.C, bs*l*g*n, blgn, false),
		ssmCheckLen(op, "D", in.D, hs, hShape, true),
		ssmCheckLen(op, "z", in.Z, bs*l*hs*p, blhp, true),
		ssmCheckLen(op, "dt_bias", in.DtBias, hs, hShape, true),
		ssmCheckLen(op, "initial_states", in.InitialStates, bs*hs*p*n, fmt.Sprintf("[B,H,P,N] = [%d,%d,%d,%d]", bs, hs, p, n), true),
	}
	for _, e := range checks {
		if e != nil {
			return nil, nil, e
		}
	}

	out = make([]float64, bs*l*hs*p)
	finalStates = make([]float64, bs*hs*p*n)
	perGroup := hs / g
	for b := 0; b < bs; b++ {
		for h := 0; h < hs; h++ {
			grp := h / perGroup
			// S is this (b, h)'s state, written in place in finalStates.
			S := finalStates[(b*hs+h)*p*n : (b*hs+h+1)*p*n]
			if in.InitialStates != nil {
				copy(S, in.InitialStates[(b*hs+h)*p*n:(b*hs+h+1)*p*n])
			}
			for t := 0; t < l; t++ {
				dt := in.Dt[(b*l+t)*hs+h]
				if in.DtBias != nil {
					dt += in.DtBias[h]
				}
				if in.DtSoftplus {
					dt = ssmSoftplus(dt)
				}
				decay := math.Exp(dt * in.A[h])
				bt := in.B[((b*l+t)*g+grp)*n : ((b*l+t)*g+grp+1)*n]
				ct := in.C[((b*l+t)*g+grp)*n : ((b*l+t)*g+grp+1)*n]
				xo := ((b*l+t)*hs + h) * p
				for i := 0; i < p; i++ {
					xi := in.X[xo+i]
					y := 0.0
					for k := 0; k < n; k++ {
						s := decay*S[i*n+k] + dt*xi*bt[k]
						S[i*n+k] = s
						y += s * ct[k]
					}
					if in.D != nil {
						y += in.D[h] * xi
					}
					if in.Z != nil {
						y *= ssmSiLU(in.Z[xo+i])
					}
					out[xo+i] = y
				}
			}
		}
	}
	return out, finalStates, nil
}

// SSDStateUpdateInput holds one decode step of the Mamba-2 scan, with the
// shapes of mamba-ssm's selective_state_update in its multi-head form (dt
// and A one scalar per head):
//
//	State   [Batch, Heads, HeadDim, DState]
//	X       [Batch, Heads, HeadDim]
//	Dt      [Batch, Heads]
//	A       [Heads]
//	B, C    [Batch, Groups, DState]
//	D       [Heads]                   optional
//	Z       [Batch, Heads, HeadDim]   optional gate
//	DtBias  [Heads]                   optional
//
// Head h reads group h / (Heads/Groups); Groups = 0 is taken as 1.
type SSDStateUpdateInput struct {
	Batch, Heads, HeadDim, Groups, DState int

	State, X, Dt, A, B, C []float64
	D, Z, DtBias          []float64

	// DtSoftplus applies softplus (threshold 20) to Dt + DtBias.
	DtSoftplus bool
}

// SSDStateUpdate advances the Mamba-2 state by one token and returns out
// [Batch, Heads, HeadDim] and the new state [Batch, Heads, HeadDim, DState]:
//
//	S' = exp(dt A_h) S + dt x Bᵀ;   out = (S' C + D_h x) * silu(z)
//
// Token by token from the same initial state it reproduces SSD. The inputs
// (State included) are not modified.
func SSDStateUpdate(in SSDStateUpdateInput) (out, newState []float64, err error) {
	const op = "ssd_state_update"
	bs, hs, p, n := in.Batch, in.Heads, in.HeadDim, in.DState
	g, err := ssmGroups(op, "Heads", hs, in.Groups)
	if err != nil {
		return nil, nil, err
	}
	if err := ssmSizes(op, map[string]int{"Batch": bs, "Heads": hs, "HeadDim": p, "DState": n}); err != nil {
		return nil, nil, err
	}
	bhp := fmt.Sprintf("[B,H,P] = [%d,%d,%d]", bs, hs, p)
	bgn := fmt.Sprintf("[B,G,N] = [%d,%d,%d]", bs, g, n)
	hShape := fmt.Sprintf("[H] = [%d]", hs)
	checks := []error{
		ssmCheckLen(op, "state", in.State, bs*hs*p*n, fmt.Sprintf("[B,H,P,N] = [%d,%d,%d,%d]", bs, hs, p, n), false),
		ssmCheckLen(op, "x", in.X, bs*hs*p, bhp, false),
		ssmCheckLen(op, "dt", in.Dt, bs*hs, fmt.Sprintf("[B,H] = [%d,%d]", bs, hs), false),
		ssmCheckLen(op, "A", in.A, hs, hShape, false),
		ssmCheckLen(op, "B", in.B, bs*g*n, bgn, false),
		ssmCheckLen(op, "C", in.C, bs*g*n, bgn, false),
		ssmCheckLen(op, "D", in.D, hs, hShape, true),
		ssmCheckLen(op, "z", in.Z, bs*hs*p, bhp, true),
		ssmCheckLen(op, "dt_bias", in.DtBias, hs, hShape, true),
	}
	for _, e := range checks {
		if e != nil {
			return nil, nil, e
		}
	}
	out = make([]float64, bs*hs*p)
	newState = make([]float64, bs*hs*p*n)
	perGroup := hs / g
	for b := 0; b < bs; b++ {
		for h := 0; h < hs; h++ {
			dt := in.Dt[b*hs+h]
			if in.DtBias != nil {
				dt += in.DtBias[h]
			}
			if in.DtSoftplus {
				dt = ssmSoftplus(dt)
			}
			decay := math.Exp(dt * in.A[h])
			bc := (b*g + h/perGroup) * n
			for i := 0; i < p; i++ {
				xi := in.X[(b*hs+h)*p+i]
				so := ((b*hs+h)*p + i) * n
				y := 0.0
				for k := 0; k < n; k++ {
					s := decay*in.State[so+k] + dt*xi*in.B[bc+k]
					newState[so+k] = s
					y += s * in.C[bc+k]
				}
				if in.D != nil {
					y += in.D[h] * xi
				}
				if in.Z != nil {
					y *= ssmSiLU(in.Z[(b*hs+h)*p+i])
				}
				out[(b*hs+h)*p+i] = y
			}
		}
	}
	return out, newState, nil
}
