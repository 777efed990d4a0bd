package reference

import "fmt"

// SwiGLU returns silu(gate) ⊙ up element by element (the gated MLP's activation).
func SwiGLU(gate, up []float64) ([]float64, error) {
	if len(gate) != len(up) {
		return nil, fmt.Errorf("reference: swiglu: len(gate) = %d, len(up) = %d, want equal", len(gate), len(up))
	}
	out := make([]float64, len(gate))
	for i, g := range gate {
		out[i] = eltSiLU(g) * up[i]
	}
	return out, nil
}
