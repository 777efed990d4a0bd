package reference

import (
	"fmt"
	"math"
)

// LinearAttnShape holds the sizes shared by the linear-attention references
// (GLA, delta rule): q, k and g are [B, T, H, K], v and o are [B, T, H, V],
// recurrent states are [N, H, K, V] with N = B, or N = len(cu_seqlens) − 1 in
// variable-length mode (docs/design.md §4). B and T may be 0; H, K and V
// must be >= 1.
type LinearAttnShape struct {
	B, T, H, K, V int
}

// DefaultScale returns K^-0.5, the default query scale of docs/design.md §4.
// Pass its address (or any other value's) as the Scale option of GLA or
// DeltaRule, or leave Scale nil to get it.
func DefaultScale(K int) float64 {
	return 1 / math.Sqrt(float64(K))
}

// ValidateCuSeqlens checks variable-length offsets against a [B, T, ...]
// input and returns the number of sequences N. cuSeqlens must be [N+1] with
// N >= 0, start at 0, be non-decreasing and end at T, and B must be 1; a nil
// cuSeqlens is not variable-length mode and gives N = B. Sequence n covers
// tokens [cuSeqlens[n], cuSeqlens[n+1]); empty sequences are legal.
func ValidateCuSeqlens(cuSeqlens []int32, B, T int) (int, error) {
	return varlenCheckCu("cu_seqlens", cuSeqlens, B, T)
}

// varlenSeq is one independent sequence: tokens [start, end) of batch row b.
type varlenSeq struct {
	b, start, end int
}

// varlenPlan validates the shape, scale, cu_seqlens and initial state of a
// linear-attention call and returns its sequences (index n = state row n)
// and the scale to use.
func varlenPlan(op string, s LinearAttnShape, scale *float64, cu []int32, h0 []float64) ([]varlenSeq, float64, error) {
	if s.B < 0 || s.T < 0 || s.H < 1 || s.K < 1 || s.V < 1 {
		return nil, 0, fmt.Errorf("reference: %s: shape B=%d T=%d H=%d K=%d V=%d, want B, T >= 0 and H, K, V >= 1",
			op, s.B, s.T, s.H, s.K, s.V)
	}
	sc := DefaultScale(s.K)
	if scale != nil {
		sc = *scale
		if math.IsNaN(sc) || math.IsInf(sc, 0) {
			return nil, 0, fmt.Errorf("reference: %s: scale = %v, want a finite value (nil for K^-0.5)", op, sc)
		}
	}
	N, err := varlenCheckCu(op, cu, s.B, s.T)
	if err != nil {
		return nil, 0, err
	}
	if want := N * s.H * s.K * s.V; h0 != nil && len(h0) != want {
		return nil, 0, fmt.Errorf("reference: %s: len(initial_state) = %d, want N*H*K*V = %d*%d*%d*%d = %d (or nil for zeros)",
			op, len(h0), N, s.H, s.K, s.V, want)
	}
	seqs := make([]varlenSeq, N)
	for n := range seqs {
		if cu == nil {
			seqs[n] = varlenSeq{b: n, start: 0, end: s.T}
		} else {
			seqs[n] = varlenSeq{b: 0, start: int(cu[n]), end: int(cu[n+1])}
		}
	}
	return seqs, sc, nil
}

func varlenCheckCu(op string, cu []int32, B, T int) (int, error) {
	if cu == nil {
		return B, nil
	}
	if B != 1 {
		return 0, fmt.Errorf("reference: %s: cu_seqlens given with B = %d, want B = 1 (sequences packed along T)", op, B)
	}
	if len(cu) == 0 {
		return 0, fmt.Errorf("reference: %s: len(cu_seqlens) = 0, want N+1 >= 1 entries starting with 0", op)
	}
	if cu[0] != 0 {
		return 0, fmt.Errorf("reference: %s: cu_seqlens[0] = %d, want 0", op, cu[0])
	}
	for i := 1; i < len(cu); i++ {
		if cu[i] < cu[i-1] {
			return 0, fmt.Errorf("reference: %s: cu_seqlens[%d] = %d < cu_seqlens[%d] = %d, want non-decreasing offsets",
				op, i, cu[i], i-1, cu[i-1])
		}
	}
	if last := cu[len(cu)-1]; int(last) != T {
		return 0, fmt.Errorf("reference: %s: cu_seqlens[%d] = %d (last), want T = %d", op, len(cu)-1, last, T)
	}
	return len(cu) - 1, nil
}

// varlenCheckLen reports a slice whose length does not match its shape.
func varlenCheckLen(op, name string, x []float64, dims string, want int) error {
	if len(x) != want {
		return fmt.Errorf("reference: %s: len(%s) = %d, want %s = %d", op, name, len(x), dims, want)
	}
	return nil
}
