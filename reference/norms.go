package reference

import (
	"fmt"
	"math"
)

// AddRMSNorm returns the new residual (residual + x, or residual itself when x is nil) and
// out = RMSNorm(new residual, weight, eps) over rows of D = len(weight) columns.
func AddRMSNorm(residual, x, weight []float64, eps float64) (newRes, out []float64, err error) {
	D := len(weight)
	if D == 0 || len(residual)%D != 0 || (x != nil && len(x) != len(residual)) {
		return nil, nil, fmt.Errorf("reference: add_rmsnorm: len(residual) = %d, len(x) = %d, len(weight) = %d: want rows of len(weight) and x of residual's length (or nil)",
			len(residual), len(x), D)
	}
	newRes = append([]float64(nil), residual...)
	if x != nil {
		for i, v := range x {
			newRes[i] += v
		}
	}
	out, err = RMSNorm(newRes, weight, len(newRes)/D, D, eps)
	return newRes, out, err
}

// GatedRMSNorm returns out [M, D] for x, g [M, D]: with normBeforeGate (fla's FusedRMSNormGated)
// out = rmsnorm(x)·w·silu(g), otherwise (Mamba-2's RMSNormGated, norm_before_gate=False)
// out = rmsnorm(x·silu(g))·w, the RMS taken over groups of group consecutive columns (0: the whole
// row). weight has D elements, or group elements shared by every group (indexed c mod len(weight)).
func GatedRMSNorm(x, g, weight []float64, M, D, group int, eps float64, normBeforeGate bool) ([]float64, error) {
	if group == 0 {
		group = D
	}
	if M < 0 || D < 1 || group < 1 || D%group != 0 || len(x) != M*D || len(g) != M*D || (len(weight) != D && len(weight) != group) {
		return nil, fmt.Errorf("reference: gated_rmsnorm: len(x) = %d, len(g) = %d, len(weight) = %d, M = %d, D = %d, group = %d: want M*D elements, group dividing D, weight [D] or [group]",
			len(x), len(g), len(weight), M, D, group)
	}
	if err := rowsCheckEps("gated_rmsnorm", eps); err != nil {
		return nil, err
	}
	out := make([]float64, M*D)
	for i0 := 0; i0 < M*D; i0 += group {
		v := make([]float64, group)
		ss := 0.0
		for j := range group {
			v[j] = x[i0+j]
			if !normBeforeGate {
				v[j] *= eltSiLU(g[i0+j])
			}
			ss += v[j] * v[j]
		}
		inv := 1 / math.Sqrt(ss/float64(group)+eps)
		for j := range group {
			c := (i0 + j) % D
			y := v[j] * inv * weight[c%len(weight)]
			if normBeforeGate {
				y *= eltSiLU(g[i0+j])
			}
			out[i0+j] = y
		}
	}
	return out, nil
}
