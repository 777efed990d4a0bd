package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// TestLinearRMSNormConv checks LinearRMSNormConvFolded against reference.AddRMSNorm,
// reference.Linear and reference.CausalConv1DUpdate (SiLU) on the first D columns: the product,
// the conv output and the updated state, with and without the residual add and the conv bias, for
// conv widths 2 to 4 and 8, D = N and D < N, M = 1 and 3. On CPU devices the decode shapes must
// be folded; elsewhere the op must report false and write nothing.
func TestLinearRMSNormConv(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, c := range []struct{ m, n, k, dd, w int }{
		{1, 3072, 768, 1536, 4}, {1, 80, 256, 80, 2}, {3, 37, 128, 20, 3}, {1, 130, 136, 65, 8},
	} {
		for _, withAdd := range []bool{true, false} {
			withBias := withAdd || c.w%2 == 0
			t.Run(fmt.Sprintf("%+v_add%v_bias%v", c, withAdd, withBias), func(t *testing.T) {
				m, n, k, dd, w := c.m, c.n, c.k, c.dd, c.w
				x, wq, b, xt, wt, bt, out := linearOperands(t, d, r, gpu.F16, m, n, k)
				in, nw, add := normedRows(t, d, r, xt, m, k, withAdd)
				cw := rounded(randn(r, dd*w, 0.5))
				st := rounded(randn(r, m*dd*(w-1), 1))
				var cb []float64
				conv := ConvStep{Weight: upload(t, d, gpu.F32, cw, dd, w), State: upload(t, d, gpu.F32, st, m, dd, w-1), Out: poisoned(t, d, gpu.F32, m, dd)}
				if withBias {
					cb = rounded(randn(r, dd, 1))
					conv.Bias = upload(t, d, gpu.F32, cb, dd)
				}
				s := stream(t, d)
				folded, err := LinearRMSNormConvFolded(s, out, in, wt, bt, conv)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				canFold := normGEMVOK(d.Info(), wt, k, xt, in.Add, in.Weight)
				if folded != canFold {
					t.Fatalf("folded %v, want %v", folded, canFold)
				}
				if !folded {
					checkErr(t, "state (untouched)", read(t, conv.State), st, 0)
					return
				}
				checkNormedProduct(t, out, in, x, add, nw, wq, b, m, n, k)
				// The conv's x is the product's first D columns as the device computed them, so
				// that the conv is checked on its own.
				got := read(t, out)
				xs := make([]float64, 0, m*dd)
				for i := range m {
					for _, v := range got[i*n : i*n+dd] {
						xs = append(xs, float64(v))
					}
				}
				wantC, wantS, err := reference.CausalConv1DUpdate(reference.CausalConv1DUpdateInput{
					Batch: m, Dim: dd, Len: 1, Width: w, X: xs, State: st, Weight: cw, Bias: cb, Activation: "silu"})
				if err != nil {
					t.Fatal(err)
				}
				checkErr(t, "conv out", read(t, conv.Out), wantC, tolF32)
				checkErr(t, "conv state", read(t, conv.State), wantS, tolF32)
			})
		}
	}
}

// TestLinearRMSNormConvErrors checks that bad conv operands are refused with ErrInvalidArgument.
func TestLinearRMSNormConvErrors(t *testing.T) {
	d := device(t)
	r := newRand(t)
	m, n, k := 1, 16, 128
	_, _, _, xt, wt, _, out := linearOperands(t, d, r, gpu.F16, m, n, k)
	in := NormedRows{Residual: xt, Weight: poisoned(t, d, gpu.F32, k), Eps: 1e-5}
	good := func() ConvStep {
		return ConvStep{Weight: poisoned(t, d, gpu.F32, 8, 4), State: poisoned(t, d, gpu.F32, m, 8, 3), Out: poisoned(t, d, gpu.F32, m, 8)}
	}
	for name, mod := range map[string]func(*ConvStep){
		"nil weight":      func(c *ConvStep) { c.Weight = nil },
		"width 1":         func(c *ConvStep) { c.Weight = poisoned(t, d, gpu.F32, 8, 1) },
		"width 9":         func(c *ConvStep) { c.Weight = poisoned(t, d, gpu.F32, 8, 9) },
		"D > N":           func(c *ConvStep) { c.Weight = poisoned(t, d, gpu.F32, 17, 4) },
		"state shape":     func(c *ConvStep) { c.State = poisoned(t, d, gpu.F32, m, 8, 4) },
		"out shape":       func(c *ConvStep) { c.Out = poisoned(t, d, gpu.F32, m, 9) },
		"bias shape":      func(c *ConvStep) { c.Bias = poisoned(t, d, gpu.F32, 9) },
		"state is out":    func(c *ConvStep) { c.Out = out },
		"state aliases x": func(c *ConvStep) { c.State = c.Out },
		"f16 weight":      func(c *ConvStep) { c.Weight = poisoned(t, d, gpu.F16, 8, 4) },
	} {
		c := good()
		mod(&c)
		_, err := LinearRMSNormConvFolded(stream(t, d), out, in, wt, nil, c)
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := LinearRMSNormConvFolded(stream(t, d), out, in, wt, nil, good()); err != nil {
		t.Errorf("good operands: %v", err)
	}
}
