package reference

import (
	"fmt"
	"math"
)

// L2NormEps is the eps of docs/design.md §6's key normalisation
// x / sqrt(Σx² + 1e-6), the value to pass to L2Norm by default.
const L2NormEps = 1e-6

// RowSum returns the sums of the rows of x [R, C]: out [R], out[r] = Σ_c x[r,c].
func RowSum(x []float64, R, C int) ([]float64, error) {
	if err := rowsCheck("rowsum", x, R, C); err != nil {
		return nil, err
	}
	out := make([]float64, R)
	for r := range R {
		s := 0.0
		for _, v := range x[r*C : (r+1)*C] {
			s += v
		}
		out[r] = s
	}
	return out, nil
}

// RMSNorm returns out [R, C] with out[r,c] = x[r,c] / sqrt(mean_c(x[r,·]²) + eps) · weight[c]
// for x [R, C]. weight is [C], or nil for no weight (all ones). eps must be a
// finite number >= 0.
func RMSNorm(x, weight []float64, R, C int, eps float64) ([]float64, error) {
	if err := rowsCheck("rmsnorm", x, R, C); err != nil {
		return nil, err
	}
	if weight != nil && len(weight) != C {
		return nil, fmt.Errorf("reference: rmsnorm: len(weight) = %d, want C = %d (or nil)", len(weight), C)
	}
	if err := rowsCheckEps("rmsnorm", eps); err != nil {
		return nil, err
	}
	out := make([]float64, R*C)
	for r := range R {
		row := x[r*C : (r+1)*C]
		ss := 0.0
		for _, v := range row {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(C)+eps)
		for c, v := range row {
			y := v * inv
			if weight != nil {
				y *= weight[c]
			}
			out[r*C+c] = y
		}
	}
	return out, nil
}

// L2Norm returns out [R, C] with out[r,c] = x[r,c] / sqrt(Σ_c x[r,·]² + eps)
// for x [R, C] (note: the sum, not the mean). eps must be a finite number
// >= 0; L2NormEps (1e-6) is the default of docs/design.md §6.
func L2Norm(x []float64, R, C int, eps float64) ([]float64, error) {
	if err := rowsCheck("l2norm", x, R, C); err != nil {
		return nil, err
	}
	if err := rowsCheckEps("l2norm", eps); err != nil {
		return nil, err
	}
	out := make([]float64, R*C)
	for r := range R {
		row := x[r*C : (r+1)*C]
		ss := 0.0
		for _, v := range row {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss+eps)
		for c, v := range row {
			out[r*C+c] = v * inv
		}
	}
	return out, nil
}

func rowsCheck(op string, x []float64, R, C int) error {
	if R < 0 || C < 0 {
		return fmt.Errorf("reference: %s: R = %d, C = %d, want both >= 0", op, R, C)
	}
	if len(x) != R*C {
		return fmt.Errorf("reference: %s: len(x) = %d, want R*C = %d*%d = %d", op, len(x), R, C, R*C)
	}
	return nil
}

func rowsCheckEps(op string, eps float64) error {
	if !(eps >= 0) || math.IsInf(eps, 1) {
		return fmt.Errorf("reference: %s: eps = %v, want a finite value >= 0", op, eps)
	}
	return nil
}
