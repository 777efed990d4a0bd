package reference

import "fmt"

// Linear returns out [M, N] = x [M, K] · weightᵀ + bias for weight [N, K] (torch nn.Linear) and
// bias [N] or nil.
func Linear(x, weight, bias []float64, M, N, K int) ([]float64, error) {
	if M < 0 || N < 0 || K < 0 || len(x) != M*K || len(weight) != N*K || (bias != nil && len(bias) != N) {
		return nil, fmt.Errorf("reference: linear: len(x) = %d, len(weight) = %d, len(bias) = %d, want M*K = %d, N*K = %d, N = %d (or nil)",
			len(x), len(weight), len(bias), M*K, N*K, N)
	}
	out := make([]float64, M*N)
	for m := range M {
		xr := x[m*K : (m+1)*K]
		for n := range N {
			s := 0.0
			for k, w := range weight[n*K : (n+1)*K] {
				s += xr[k] * w
			}
			if bias != nil {
				s += bias[n]
			}
			out[m*N+n] = s
		}
	}
	return out, nil
}
