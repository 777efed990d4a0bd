package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/x448/float16"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// glaCase is one GLA test: shape, gates logsigmoid(x)/gateN (clamped at -20; gateN = 0 draws
// them uniformly in [-20, 0]), an optional initial state, optional cu_seqlens.
type glaCase struct {
	B, T, H, K, V int
	gateN         float64
	h0            bool
	cu            []int32
	f16           bool
	segBytes      uint64 // workspace segment cap (0: default)
}

func (c glaCase) String() string {
	s := fmt.Sprintf("B%d_T%d_H%d_K%d_V%d_n%g", c.B, c.T, c.H, c.K, c.V, c.gateN)
	if c.h0 {
		s += "_h0"
	}
	if c.cu != nil {
		s += fmt.Sprintf("_cu%v", c.cu)
	}
	if c.f16 {
		s += "_f16"
	}
	if c.segBytes > 0 {
		s += fmt.Sprintf("_seg%d", c.segBytes)
	}
	return s
}

func (c glaCase) n() int {
	if c.cu != nil {
		return len(c.cu) - 1
	}
	return c.B
}

// glaInputs holds one case's inputs (rounded to what the GPU stores) and the reference outputs.
type glaInputs struct {
	q, k, v, g, h0 []float64
	o, fin         []float64
}

func logsigmoid(x float64) float64 {
	if x < 0 {
		return x - math.Log1p(math.Exp(x))
	}
	return -math.Log1p(math.Exp(-x))
}

func roundF16(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(float16.Fromfloat32(float32(v)).Float32())
	}
	return out
}

func glaMake(t testing.TB, r *rand.Rand, c glaCase) glaInputs {
	t.Helper()
	nk, nv := c.B*c.T*c.H*c.K, c.B*c.T*c.H*c.V
	in := glaInputs{q: randn(r, nk, 1), k: randn(r, nk, 1), v: randn(r, nv, 1), g: make([]float64, nk)}
	for i := range in.g {
		if c.gateN == 0 {
			in.g[i] = -20 * r.Float64()
		} else {
			in.g[i] = max(logsigmoid(r.NormFloat64())/c.gateN, -20)
		}
	}
	if c.h0 {
		in.h0 = rounded(randn(r, c.n()*c.H*c.K*c.V, 1))
	}
	rnd := rounded
	if c.f16 {
		rnd = roundF16
	}
	in.q, in.k, in.v, in.g = rnd(in.q), rnd(in.k), rnd(in.v), rnd(in.g)
	var err error
	in.o, in.fin, err = reference.GLA(in.q, in.k, in.v, in.g, reference.LinearAttnShape{B: c.B, T: c.T, H: c.H, K: c.K, V: c.V},
		reference.GLAOptions{InitialState: in.h0, CuSeqlens: c.cu})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// glaTensors uploads a case's inputs and allocates poisoned outputs.
type glaTensors struct {
	q, k, v, g, o, h0, fin, cu *gpu.Tensor
}

func glaUpload(t testing.TB, d *gpu.Device, c glaCase, in glaInputs) glaTensors {
	t.Helper()
	dt := gpu.F32
	if c.f16 {
		dt = gpu.F16
	}
	var ts glaTensors
	ts.q = upload(t, d, dt, in.q, c.B, c.T, c.H, c.K)
	ts.k = upload(t, d, dt, in.k, c.B, c.T, c.H, c.K)
	ts.v = upload(t, d, dt, in.v, c.B, c.T, c.H, c.V)
	ts.g = upload(t, d, dt, in.g, c.B, c.T, c.H, c.K)
	ts.o = poisoned(t, d, dt, c.B, c.T, c.H, c.V)
	ts.fin = poisoned(t, d, gpu.F32, c.n(), c.H, c.K, c.V)
	if c.h0 {
		ts.h0 = upload(t, d, gpu.F32, in.h0, c.n(), c.H, c.K, c.V)
	}
	if c.cu != nil {
		cu, err := d.FromInt32(c.cu, len(c.cu))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cu.Close() })
		ts.cu = cu
	}
	return ts
}

func (c glaCase) tol() float64 {
	if c.f16 {
		return tolF16
	}
	return tolF32
}

// runGLAChunked runs GLA on a case and checks o and the final state.
func runGLAChunked(t *testing.T, d *gpu.Device, c glaCase, in glaInputs) {
	ts := glaUpload(t, d, c, in)
	ws := NewGLAWorkspace(d)
	ws.segBytes = c.segBytes
	defer ws.Close()
	s := stream(t, d)
	if err := GLA(s, ws, ts.o, ts.q, ts.k, ts.v, ts.g, GLAOptions{InitialState: ts.h0, FinalState: ts.fin, CuSeqlens: ts.cu}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if len(in.o) > 0 {
		checkErr(t, "chunked o", read(t, ts.o), in.o, c.tol())
	}
	if len(in.fin) > 0 {
		checkErr(t, "chunked final state", read(t, ts.fin), in.fin, tolF32*max(1, c.tol()/tolF32/4))
	}
}

// runGLARecurrent runs GLARecurrent on a case (the state starts as the initial state) and checks
// o and the state.
func runGLARecurrent(t *testing.T, d *gpu.Device, c glaCase, in glaInputs) {
	ts := glaUpload(t, d, c, in)
	if c.h0 {
		ts.fin = upload(t, d, gpu.F32, in.h0, c.n(), c.H, c.K, c.V)
	} else if err := ts.fin.Fill(0); err != nil {
		t.Fatal(err)
	}
	s := stream(t, d)
	if err := GLARecurrent(s, ts.o, ts.q, ts.k, ts.v, ts.g, ts.fin, GLARecurrentOptions{CuSeqlens: ts.cu}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if len(in.o) > 0 {
		checkErr(t, "recurrent o", read(t, ts.o), in.o, c.tol())
	}
	if len(in.fin) > 0 {
		checkErr(t, "recurrent state", read(t, ts.fin), in.fin, tolF32*max(1, c.tol()/tolF32/4))
	}
}

func TestGLABasic(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, c := range []glaCase{
		{B: 1, T: 64, H: 1, K: 64, V: 64, gateN: 1},
		{B: 2, T: 100, H: 3, K: 48, V: 100, gateN: 1, h0: true},
	} {
		t.Run(c.String(), func(t *testing.T) {
			in := glaMake(t, r, c)
			runGLAChunked(t, d, c, in)
			runGLARecurrent(t, d, c, in)
		})
	}
}

var _ = errors.Is
