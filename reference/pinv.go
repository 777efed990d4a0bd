package reference

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// PseudoInverse returns the Moore–Penrose pseudo-inverse A⁺ [cols, rows] of a [rows, cols]
// (row-major) in float64, from the singular value decomposition A = U Σ Vᵀ: A⁺ = V Σ⁺ Uᵀ, where
// Σ⁺ inverts the singular values above rcond·σ_max and zeroes the others (numpy.linalg.pinv's
// rule; rcond <= 0 means max(rows, cols)·ε, torch.linalg.pinv's default). a is not modified.
func PseudoInverse(a []float64, rows, cols int, rcond float64) ([]float64, error) {
	if rows < 1 || cols < 1 || len(a) != rows*cols {
		return nil, fmt.Errorf("reference: pinv: a has %d values, want [rows, cols] = [%d, %d] with both >= 1", len(a), rows, cols)
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(rows, cols, append([]float64(nil), a...)), mat.SVDThin) {
		return nil, fmt.Errorf("reference: pinv: the SVD of the [%d, %d] matrix did not converge", rows, cols)
	}
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	sv := svd.Values(nil)
	if rcond <= 0 {
		rcond = float64(max(rows, cols)) * 2.220446049250313e-16
	}
	// A⁺[i, j] = Σ_k V[i, k] U[j, k] / σ_k
	out := make([]float64, cols*rows)
	for i := 0; i < cols; i++ {
		for j := 0; j < rows; j++ {
			acc := 0.0
			for k, s := range sv {
				if s > rcond*sv[0] {
					acc += v.At(i, k) * u.At(j, k) / s
				}
			}
			out[i*rows+j] = acc
		}
	}
	return out, nil
}
