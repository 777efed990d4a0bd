package reference

import "fmt"

// Transpose returns out [B, C, R] with out[b, c, r] = x[b, r, c] for x [B, R, C].
func Transpose(x []float64, B, R, C int) ([]float64, error) {
	if B < 0 || R < 0 || C < 0 || len(x) != B*R*C {
		return nil, fmt.Errorf("reference: transpose: len(x) = %d, want B*R*C = %d*%d*%d", len(x), B, R, C)
	}
	out := make([]float64, len(x))
	for b := range B {
		for r := range R {
			for c := range C {
				out[(b*C+c)*R+r] = x[(b*R+r)*C+c]
			}
		}
	}
	return out, nil
}
