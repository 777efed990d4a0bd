package ops

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// TestLinearRMSNorm checks LinearRMSNorm against reference.AddRMSNorm then reference.Linear, with
// the norm folded into the product (linear_gemv_norm_f16t, where it applies) and unfolded, with and
// without the residual add and the bias, on decode shapes (M of 1 to 5; N not a multiple of the
// rows per workgroup; K from 128, the fold's least, to 1536) and on shapes only the unfolded path
// takes (K not a multiple of 8, K below 128, M ≥ 16).
func TestLinearRMSNorm(t *testing.T) {
	d := device(t)
	r := newRand(t)
	defer func(v bool) { normFold = v }(normFold)
	for _, sh := range [][3]int{{1, 3072, 768}, {1, 80, 1536}, {2, 37, 256}, {5, 130, 128}, {3, 9, 100}, {1, 20, 64}, {17, 24, 136}} {
		for _, dt := range dtypes(d) {
			for _, fold := range []bool{true, false} {
				for _, withAdd := range []bool{true, false} {
					m, n, k := sh[0], sh[1], sh[2]
					withBias := (m+n)%2 == 0 || withAdd
					t.Run(fmt.Sprintf("M%d_N%d_K%d_%v_fold%v_add%v_bias%v", m, n, k, dt, fold, withAdd, withBias), func(t *testing.T) {
						normFold = fold
						x, w, b, xt, wt, bt, out := linearOperands(t, d, r, dt, m, n, k)
						if !withBias {
							b, bt = nil, nil
						}
						in, nw, add := normedRows(t, d, r, xt, m, k, withAdd)
						folded := m < linearGEMMRows && normGEMVOK(d.Info(), wt, k, xt, in.Add, in.Weight)
						if fold && dt == gpu.F16 && k == 768 && cpuTiles(d.Info()) && !folded {
							t.Errorf("the decode shape is not folded on %s", d.Info().Name)
						}
						t.Logf("folded: %v", folded)
						s := stream(t, d)
						if err := LinearRMSNorm(s, out, in, wt, bt); err != nil {
							t.Fatal(err)
						}
						if err := s.Run(); err != nil {
							t.Fatal(err)
						}
						checkNormedProduct(t, out, in, x, add, nw, w, b, m, n, k)
						checkErr(t, "residual (unchanged)", read(t, xt), x, 0)
					})
				}
			}
		}
	}
}

// normedRows makes LinearRMSNorm's input around the residual xt [m, k]: a random norm weight,
// eps 1e-5 and, when withAdd, a random add and a poisoned ResidualOut; it returns the host values
// of the norm weight and of the add (nil without).
func normedRows(t *testing.T, d *gpu.Device, r *rand.Rand, xt *gpu.Tensor, m, k int, withAdd bool) (NormedRows, []float64, []float64) {
	nw := rounded(randn(r, k, 1))
	in := NormedRows{Residual: xt, Weight: upload(t, d, gpu.F32, nw, k), Eps: 1e-5}
	var add []float64
	if withAdd {
		add = rounded(randn(r, m*k, 3))
		in.Add = upload(t, d, gpu.F32, add, m, k)
		in.ResidualOut = poisoned(t, d, gpu.F32, m, k)
	}
	return in, nw, add
}

// checkNormedProduct checks out (and in.ResidualOut when in.Add is set) against
// reference.AddRMSNorm (eps 1e-5) then reference.Linear on the host values x (residual), add,
// nw (norm weight), w and b.
func checkNormedProduct(t *testing.T, out *gpu.Tensor, in NormedRows, x, add, nw, w, b []float64, m, n, k int) {
	t.Helper()
	newRes, normed, err := reference.AddRMSNorm(x, add, nw, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference.Linear(normed, w, b, m, n, k)
	if err != nil {
		t.Fatal(err)
	}
	checkErr(t, "out", read(t, out), want, tolF32)
	if in.Add != nil {
		checkErr(t, "residual out", read(t, in.ResidualOut), newRes, tolF32)
	}
}

// TestLinearRMSNormErrors checks that bad shapes and aliasing are refused with ErrInvalidArgument.
func TestLinearRMSNormErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	f := func(shape ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, shape...) }
	res, add, nw, w := f(2, 16), f(2, 16), f(16), f(4, 16)
	out := f(2, 4)
	cases := map[string]error{
		"nil residual":      LinearRMSNorm(s, out, NormedRows{Weight: nw}, w, nil),
		"norm weight shape": LinearRMSNorm(s, out, NormedRows{Residual: res, Weight: f(15)}, w, nil),
		"add shape":         LinearRMSNorm(s, out, NormedRows{Residual: res, Add: f(2, 15), Weight: nw, ResidualOut: f(2, 16)}, w, nil),
		"no residual out":   LinearRMSNorm(s, out, NormedRows{Residual: res, Add: add, Weight: nw}, w, nil),
		"in place":          LinearRMSNorm(s, out, NormedRows{Residual: res, Add: add, Weight: nw, ResidualOut: res}, w, nil),
		"weight K":          LinearRMSNorm(s, out, NormedRows{Residual: res, Weight: nw}, f(4, 15), nil),
		"out shape":         LinearRMSNorm(s, f(2, 5), NormedRows{Residual: res, Weight: nw}, w, nil),
		"bias shape":        LinearRMSNorm(s, out, NormedRows{Residual: res, Weight: nw}, w, f(5)),
		"eps":               LinearRMSNorm(s, out, NormedRows{Residual: res, Weight: nw, Eps: -1}, w, nil),
		"out aliases":       LinearRMSNorm(s, res, NormedRows{Residual: res, Weight: nw}, f(16, 16), nil),
	}
	for name, err := range cases {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
