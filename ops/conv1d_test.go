package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

type convCase struct {
	B, D, L, W       int
	bias, init, silu bool
	inPlace          bool // FinalState is InitialState (needs init)
}

func (c convCase) String() string {
	return fmt.Sprintf("B%d_D%d_L%d_W%d_bias%v_init%v_silu%v_inplace%v", c.B, c.D, c.L, c.W, c.bias, c.init, c.silu, c.inPlace)
}

// runConv runs CausalConv1D on fresh inputs and compares out and the final states with the
// reference.
func runConv(t *testing.T, d *gpu.Device, dt gpu.DType, c convCase) {
	r := newRand(t)
	s := c.W - 1
	xt, x := uploadAs(t, d, dt, randn(r, c.B*c.D*c.L, 1), c.B, c.D, c.L)
	w := rounded(randn(r, c.D*c.W, 0.5))
	wt := upload(t, d, gpu.F32, w, c.D, c.W)
	in := reference.CausalConv1DInput{Batch: c.B, Dim: c.D, Len: c.L, Width: c.W, X: x, Weight: w}
	opt := CausalConv1DOptions{SiLU: c.silu, FinalState: poisoned(t, d, gpu.F32, c.B, c.D, s)}
	if c.silu {
		in.Activation = "silu"
	}
	if c.bias {
		in.Bias = rounded(randn(r, c.D, 1))
		opt.Bias = upload(t, d, gpu.F32, in.Bias, c.D)
	}
	if c.init {
		in.InitialStates = rounded(randn(r, c.B*c.D*s, 1))
		opt.InitialState = upload(t, d, gpu.F32, in.InitialStates, c.B, c.D, s)
		if c.inPlace {
			opt.FinalState = opt.InitialState
		}
	}
	want, wantFin, err := reference.CausalConv1D(in)
	if err != nil {
		t.Fatal(err)
	}
	out := poisoned(t, d, dt, c.B, c.D, c.L)
	st := stream(t, d)
	if err := CausalConv1D(st, out, xt, wt, opt); err != nil {
		t.Fatal(err)
	}
	if err := st.Run(); err != nil {
		t.Fatal(err)
	}
	if c.L > 0 {
		checkErr(t, "out", read(t, out), want, tolFor(dt))
	}
	if s > 0 {
		checkErr(t, "final_states", read(t, opt.FinalState), wantFin, tolF32)
	}
}

func TestCausalConv1D(t *testing.T) {
	d := device(t)
	cases := []convCase{
		{B: 1, D: 1, L: 1, W: 4, bias: true, init: true, silu: true},
		{B: 2, D: 3, L: 7, W: 2},
		{B: 1, D: 5, L: 64, W: 3, bias: true},
		{B: 2, D: 8, L: 64, W: 4, bias: true, init: true, silu: true},
		{B: 1, D: 6, L: 61, W: 5, init: true, silu: true},
		{B: 1, D: 4, L: 2049, W: 8, bias: true, init: true},
		{B: 3, D: 17, L: 2048, W: 6, silu: true},
		{B: 1, D: 2, L: 3, W: 7, init: true},   // L < W-1: final states reach into the initial ones
		{B: 1, D: 3, L: 0, W: 4, init: true},   // L = 0: final = initial
		{B: 1, D: 3, L: 100, W: 1, bias: true}, // no state at all
		// the state advanced in place, over many tiles of time and within the state's length
		{B: 2, D: 5, L: 2049, W: 4, bias: true, init: true, inPlace: true},
		{B: 1, D: 3, L: 2, W: 6, init: true, silu: true, inPlace: true},
		{B: 1, D: 3, L: 0, W: 4, init: true, inPlace: true},
	}
	if *long {
		cases = append(cases, convCase{B: 1, D: 64, L: 16384, W: 4, bias: true, init: true, silu: true})
	}
	for _, dt := range dtypes(d) {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%v_%v", dt, c), func(t *testing.T) { runConv(t, d, dt, c) })
		}
	}
}

// TestCausalConv1DSplit binds x and out in several windows (a lowered binding limit), as tensors
// larger than maxStorageBufferRange are.
func TestCausalConv1DSplit(t *testing.T) {
	d := device(t)
	withBindLimit(4096, func() {
		runConv(t, d, gpu.F32, convCase{B: 2, D: 13, L: 203, W: 4, bias: true, init: true, silu: true})
		runConv(t, d, gpu.F32, convCase{B: 1, D: 9, L: 256, W: 3, init: true})
	})
}

// TestCausalConv1DUpdate: decode steps of one and of a few tokens, state updated in place, give
// the full convolution's outputs and final state.
func TestCausalConv1DUpdate(t *testing.T) {
	d := device(t)
	// Steps of one token take conv1d_step_t on CPU devices (texel); also without it.
	for _, dt := range dtypes(d) {
		for _, w := range []int{2, 4, 8} {
			for _, texel := range []bool{true, false} {
				t.Run(fmt.Sprintf("%v_W%d_texel%v", dt, w, texel), func(t *testing.T) {
					convStepTexel = texel
					defer func() { convStepTexel = true }()
					r := newRand(t)
					const b, dim, l = 2, 5, 11
					s := w - 1
					x := randn(r, b*dim*l, 1)
					wv := rounded(randn(r, dim*w, 0.5))
					bias := rounded(randn(r, dim, 1))
					init := rounded(randn(r, b*dim*s, 1))
					wt := upload(t, d, gpu.F32, wv, dim, w)
					bt := upload(t, d, gpu.F32, bias, dim)
					state := upload(t, d, gpu.F32, init, b, dim, s)
					// Token steps: 1, then 3, then 1, ... (x sliced per step on the host).
					xr := make([]float64, len(x))
					got := make([]float32, b*dim*l)
					st := stream(t, d)
					for t0, step := 0, 1; t0 < l; t0, step = t0+step, 4-step {
						n := min(step, l-t0)
						xs := make([]float64, b*dim*n)
						for i := 0; i < b*dim; i++ {
							copy(xs[i*n:(i+1)*n], x[i*l+t0:i*l+t0+n])
						}
						shape := []int{b, dim, n}
						if n == 1 {
							shape = []int{b, dim}
						}
						xt, xsr := uploadAs(t, d, dt, xs, shape...)
						for i := 0; i < b*dim; i++ {
							copy(xr[i*l+t0:i*l+t0+n], xsr[i*n:(i+1)*n])
						}
						out := poisoned(t, d, dt, shape...)
						if err := CausalConv1DUpdate(st, out, state, xt, wt, CausalConv1DUpdateOptions{Bias: bt, SiLU: true}); err != nil {
							t.Fatal(err)
						}
						if err := st.Run(); err != nil {
							t.Fatal(err)
						}
						o := read(t, out)
						for i := 0; i < b*dim; i++ {
							copy(got[i*l+t0:i*l+t0+n], o[i*n:(i+1)*n])
						}
					}
					want, wantFin, err := reference.CausalConv1D(reference.CausalConv1DInput{Batch: b, Dim: dim, Len: l, Width: w,
						X: xr, Weight: wv, Bias: bias, InitialStates: init, Activation: "silu"})
					if err != nil {
						t.Fatal(err)
					}
					checkErr(t, "out", got, want, tolFor(dt))
					checkErr(t, "state", read(t, state), wantFin, tolF32)
				})
			}
		}
	}
}

func TestCausalConv1DErrors(t *testing.T) {
	d := device(t)
	x := upload(t, d, gpu.F32, make([]float64, 2*3*8), 2, 3, 8)
	out := poisoned(t, d, gpu.F32, 2, 3, 8)
	w4 := upload(t, d, gpu.F32, make([]float64, 3*4), 3, 4)
	w9 := upload(t, d, gpu.F32, make([]float64, 3*9), 3, 9)
	wBad := upload(t, d, gpu.F32, make([]float64, 4*4), 4, 4)
	st3 := upload(t, d, gpu.F32, make([]float64, 2*3*3), 2, 3, 3)
	st2 := upload(t, d, gpu.F32, make([]float64, 2*3*2), 2, 3, 2)
	outBad := poisoned(t, d, gpu.F32, 2, 3, 7)
	xi := upload(t, d, gpu.F32, make([]float64, 2*3), 2, 3)
	xi32, err := d.FromInt32(make([]int32, 2*3*8), 2, 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer xi32.Close()
	s := stream(t, d)
	cases := map[string]error{
		"nil x":            CausalConv1D(s, out, nil, w4, CausalConv1DOptions{}),
		"x 2-D":            CausalConv1D(s, out, xi, w4, CausalConv1DOptions{}),
		"x int32":          CausalConv1D(s, out, xi32, w4, CausalConv1DOptions{}),
		"out shape":        CausalConv1D(s, outBad, x, w4, CausalConv1DOptions{}),
		"W = 9":            CausalConv1D(s, out, x, w9, CausalConv1DOptions{}),
		"weight D":         CausalConv1D(s, out, x, wBad, CausalConv1DOptions{}),
		"bias shape":       CausalConv1D(s, out, x, w4, CausalConv1DOptions{Bias: w4}),
		"init shape":       CausalConv1D(s, out, x, w4, CausalConv1DOptions{InitialState: st2}),
		"final shape":      CausalConv1D(s, out, x, w4, CausalConv1DOptions{FinalState: st2}),
		"update nil state": CausalConv1DUpdate(s, out, nil, x, w4, CausalConv1DUpdateOptions{}),
		"update state W":   CausalConv1DUpdate(s, out, st2, x, w4, CausalConv1DUpdateOptions{}),
		"update out shape": CausalConv1DUpdate(s, outBad, st3, x, w4, CausalConv1DUpdateOptions{}),
		"update x 1-D":     CausalConv1DUpdate(s, out, st3, upload(t, d, gpu.F32, make([]float64, 4), 4), w4, CausalConv1DUpdateOptions{}),
	}
	for name, err := range cases {
		if !errors.Is(err, ErrInvalidArgument) || !errors.Is(err, gpu.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalidArgument (and gpu.ErrInvalid)", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if !allNaN(read(t, out)) {
		t.Error("a rejected call wrote its output")
	}
}
