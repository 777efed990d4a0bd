package reference

import (
	"fmt"
	"math"
)

// LogSigmoid returns log(sigmoid(x)) / divisor element by element, evaluated as
// min(x, 0) − log1p(exp(−|x|)) so that no intermediate overflows.
func LogSigmoid(x []float64, divisor float64) []float64 {
	return eltMap(x, func(v float64) float64 { return (math.Min(v, 0) - math.Log1p(math.Exp(-math.Abs(v)))) / divisor })
}

// SoftplusBias returns softplus(x[r, c] + bias[c]) for x [R, D] (row-major, R = len(x)/D) and
// bias [D], softplus as Softplus (x itself above SoftplusThreshold).
func SoftplusBias(x, bias []float64) ([]float64, error) {
	D := len(bias)
	if D == 0 || len(x)%D != 0 {
		return nil, fmt.Errorf("reference: softplus_bias: len(x) = %d, len(bias) = %d, want a multiple of len(bias) ≥ 1", len(x), D)
	}
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = eltSoftplus(v + bias[i%D])
	}
	return out, nil
}
