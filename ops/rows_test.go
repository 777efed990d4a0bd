package ops

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestRows(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, rc := range [][2]int{{1, 1}, {3, 5}, {16, 64}, {7, 100}, {300, 129}, {2, 4096}, {70000, 2}} {
		R, C := rc[0], rc[1]
		for _, scale := range []float64{1, 1e3} {
			x := rounded(randn(r, R*C, scale))
			w := rounded(randn(r, C, 1))
			t.Run(fmt.Sprintf("%dx%d_x%g", R, C, scale), func(t *testing.T) {
				xt := upload(t, d, gpu.F32, x, R, C)
				wt := upload(t, d, gpu.F32, w, C)
				sum := poisoned(t, d, gpu.F32, R)
				rms := poisoned(t, d, gpu.F32, R, C)
				rmsNoW := poisoned(t, d, gpu.F32, R, C)
				l2 := poisoned(t, d, gpu.F32, R, C)
				s := stream(t, d)
				for _, err := range []error{
					RowSum(s, sum, xt),
					RMSNorm(s, rms, xt, wt, 1e-5),
					RMSNorm(s, rmsNoW, xt, nil, 1e-5),
					L2Norm(s, l2, xt, 0),
				} {
					if err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				wantSum, _ := reference.RowSum(x, R, C)
				wantRMS, _ := reference.RMSNorm(x, w, R, C, 1e-5)
				wantRMSNoW, _ := reference.RMSNorm(x, nil, R, C, 1e-5)
				wantL2, _ := reference.L2Norm(x, R, C, reference.L2NormEps)
				// A sum of terms of either sign can cancel: measure its error against Σ|x|, not |Σx|.
				gotSum := read(t, sum)
				for i := 0; i < R; i++ {
					abs := 0.0
					for _, v := range x[i*C : (i+1)*C] {
						abs += math.Abs(v)
					}
					if e := math.Abs(float64(gotSum[i])-wantSum[i]) / abs; !(e <= tolF32) {
						t.Fatalf("rowsum row %d: got %v want %v (error %.3g of Σ|x|)", i, gotSum[i], wantSum[i], e)
					}
				}
				checkErr(t, "rmsnorm", read(t, rms), wantRMS, tolF32)
				checkErr(t, "rmsnorm without weight", read(t, rmsNoW), wantRMSNoW, tolF32)
				checkErr(t, "l2norm", read(t, l2), wantL2, tolF32)
			})
		}
	}
}

func TestRowsErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	x := poisoned(t, d, gpu.F32, 4, 8)
	for name, err := range map[string]error{
		"sum shape": RowSum(s, poisoned(t, d, gpu.F32, 8), x),
		"rms out":   RMSNorm(s, poisoned(t, d, gpu.F32, 4, 4), x, nil, 1e-5),
		"rms w":     RMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), x, poisoned(t, d, gpu.F32, 4), 1e-5),
		"rms eps":   RMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), x, nil, -1),
		"l2 dtype":  L2Norm(s, poisoned(t, d, gpu.F32, 4, 8), poisoned(t, d, gpu.F16, 4, 8), 0),
		"scalar":    L2Norm(s, poisoned(t, d, gpu.F32), poisoned(t, d, gpu.F32), 0),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
