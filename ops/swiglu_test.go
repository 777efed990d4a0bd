package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestSwiGLU(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, mi := range [][2]int{{1, 1}, {3, 7}, {17, 64}, {2, 1000}, {300, 5}} {
		m, i := mi[0], mi[1]
		for _, scale := range []float64{1, 30} {
			t.Run(fmt.Sprintf("M%d_I%d_x%g", m, i, scale), func(t *testing.T) {
				// fused: one [M, 2I] projection, gate first then up (the older fla gate_proj layout).
				// Gates below −80 would make silu(gate) a float32 subnormal, which devices may flush.
				proj := rounded(clampBelow(randn(r, m*2*i, scale), -80))
				pt := upload(t, d, gpu.F32, proj, m, 2*i)
				gate, up := make([]float64, 0, m*i), make([]float64, 0, m*i)
				for row := range m {
					gate = append(gate, proj[row*2*i:row*2*i+i]...)
					up = append(up, proj[row*2*i+i:row*2*i+2*i]...)
				}
				fused := poisoned(t, d, gpu.F32, m, i)
				gt, ut := upload(t, d, gpu.F32, gate, m, i), upload(t, d, gpu.F32, up, m, i)
				sep := poisoned(t, d, gpu.F32, m, i)
				s := stream(t, d)
				if err := SwiGLU(s, fused, Cols(pt, 0, i), Cols(pt, i, i)); err != nil {
					t.Fatal(err)
				}
				if err := SwiGLU(s, sep, Whole(gt), Whole(ut)); err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				want, _ := reference.SwiGLU(gate, up)
				checkErr(t, "swiglu fused", read(t, fused), want, tolF32)
				checkErr(t, "swiglu separate", read(t, sep), want, tolF32)
			})
		}
	}
}

func TestSwiGLUErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	p := poisoned(t, d, gpu.F32, 4, 8)
	for name, err := range map[string]error{
		"cols out of range": SwiGLU(s, poisoned(t, d, gpu.F32, 4, 4), Cols(p, 0, 4), Cols(p, 5, 4)),
		"widths differ":     SwiGLU(s, poisoned(t, d, gpu.F32, 4, 4), Cols(p, 0, 4), Cols(p, 4, 3)),
		"rows differ":       SwiGLU(s, poisoned(t, d, gpu.F32, 4, 4), Cols(p, 0, 4), Whole(poisoned(t, d, gpu.F32, 3, 4))),
		"out shape":         SwiGLU(s, poisoned(t, d, gpu.F32, 4, 5), Cols(p, 0, 4), Cols(p, 4, 4)),
		"dtype":             SwiGLU(s, poisoned(t, d, gpu.F32, 4, 4), Whole(poisoned(t, d, gpu.F16, 4, 4)), Cols(p, 4, 4)),
		"aliases":           SwiGLU(s, p, Cols(p, 0, 4), Cols(p, 4, 4)),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
