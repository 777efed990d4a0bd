package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestAddRMSNorm(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, rc := range [][2]int{{1, 1}, {3, 5}, {7, 100}, {65, 768}, {2, 1025}} {
		for _, scale := range []float64{1, 1e4} {
			for _, v := range []struct{ withX, tex bool }{{true, true}, {false, true}, {true, false}, {false, false}} {
				// tex: norms_add_t where it applies (CPU devices, C % 4 == 0), else the plain kernel.
				withX, tex := v.withX, v.tex
				R, C := rc[0], rc[1]
				t.Run(fmt.Sprintf("%dx%d_x%g_add%v_texel%v", R, C, scale, withX, tex), func(t *testing.T) {
					rmsTexel = tex
					t.Cleanup(func() { rmsTexel = true })
					res := rounded(randn(r, R*C, scale))
					w := rounded(randn(r, C, 1))
					var x []float64
					var xt *gpu.Tensor
					if withX {
						x = rounded(randn(r, R*C, scale))
						xt = upload(t, d, gpu.F32, x, R, C)
					}
					rt := upload(t, d, gpu.F32, res, R, C)
					wt := upload(t, d, gpu.F32, w, C)
					out := poisoned(t, d, gpu.F32, R, C)
					s := stream(t, d)
					if err := AddRMSNorm(s, out, rt, xt, wt, 1e-5); err != nil {
						t.Fatal(err)
					}
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					wantRes, wantOut, err := reference.AddRMSNorm(res, x, w, 1e-5)
					if err != nil {
						t.Fatal(err)
					}
					checkErr(t, "residual", read(t, rt), wantRes, tolF32)
					checkErr(t, "out", read(t, out), wantOut, tolF32)
				})
			}
		}
	}
}

func TestGatedRMSNorm(t *testing.T) {
	d := device(t)
	r := newRand(t)
	type tc struct{ M, D, group, wlen, pad int }
	for _, c := range []tc{{1, 1, 0, 1, 0}, {3, 12, 4, 12, 5}, {5, 64, 0, 64, 0}, {7, 96, 32, 32, 3}, {2, 200, 100, 200, 17}, {4, 1536, 768, 1536, 9}} {
		for _, before := range []bool{true, false} {
			t.Run(fmt.Sprintf("M%d_D%d_G%d_w%d_pad%d_before%v", c.M, c.D, c.group, c.wlen, c.pad, before), func(t *testing.T) {
				// x and g are windows of wider tensors: x at column c.pad of [M, D+c.pad+1], g at column 1 of [M, D+c.pad+2].
				xc, gc := c.D+c.pad+1, c.D+c.pad+2
				xfull := rounded(randn(r, c.M*xc, 3))
				gfull := rounded(randn(r, c.M*gc, 3))
				w := rounded(randn(r, c.wlen, 1))
				x, g := make([]float64, 0, c.M*c.D), make([]float64, 0, c.M*c.D)
				for m := range c.M {
					x = append(x, xfull[m*xc+c.pad:m*xc+c.pad+c.D]...)
					g = append(g, gfull[m*gc+1:m*gc+1+c.D]...)
				}
				xt := upload(t, d, gpu.F32, xfull, c.M, xc)
				gt := upload(t, d, gpu.F32, gfull, c.M, gc)
				wt := upload(t, d, gpu.F32, w, c.wlen)
				out := poisoned(t, d, gpu.F32, c.M, c.D)
				s := stream(t, d)
				opt := GatedRMSNormOptions{Eps: 1e-6, NormBeforeGate: before, GroupSize: c.group}
				if err := GatedRMSNorm(s, out, Cols(xt, c.pad, c.D), Cols(gt, 1, c.D), wt, opt); err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				want, err := reference.GatedRMSNorm(x, g, w, c.M, c.D, c.group, 1e-6, before)
				if err != nil {
					t.Fatal(err)
				}
				checkErr(t, "gated rmsnorm", read(t, out), want, tolF32)
			})
		}
	}
}

func TestNormsErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	res := poisoned(t, d, gpu.F32, 4, 8)
	w := poisoned(t, d, gpu.F32, 8)
	x := poisoned(t, d, gpu.F32, 4, 8)
	for name, err := range map[string]error{
		"add out aliases": AddRMSNorm(s, res, res, x, w, 1e-5),
		"add x shape":     AddRMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), res, poisoned(t, d, gpu.F32, 4, 7), w, 1e-5),
		"add w shape":     AddRMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), res, x, poisoned(t, d, gpu.F32, 7), 1e-5),
		"add eps":         AddRMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), res, x, w, -1),
		"gated group":     GatedRMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), Whole(x), Whole(res), w, GatedRMSNormOptions{GroupSize: 3}),
		"gated cols":      GatedRMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), Cols(x, 2, 8), Whole(res), w, GatedRMSNormOptions{}),
		"gated g cols":    GatedRMSNorm(s, poisoned(t, d, gpu.F32, 4, 4), Cols(x, 0, 4), Cols(res, 0, 3), poisoned(t, d, gpu.F32, 4), GatedRMSNormOptions{}),
		"gated weight":    GatedRMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), Whole(x), Whole(res), poisoned(t, d, gpu.F32, 5), GatedRMSNormOptions{}),
		"gated out":       GatedRMSNorm(s, poisoned(t, d, gpu.F32, 4, 7), Whole(x), Whole(res), w, GatedRMSNormOptions{}),
		"gated nil":       GatedRMSNorm(s, poisoned(t, d, gpu.F32, 4, 8), ColView{}, Whole(res), w, GatedRMSNormOptions{}),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
