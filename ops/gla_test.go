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
// them uniformly in [-20, 0], gateN < 0 in [0, 0.05]: moderate growth, which the chunked form
// documents as working), an optional initial state, optional cu_seqlens.
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
		} else if c.gateN < 0 { // growth: uniform in [0, 0.05]
			in.g[i] = 0.05 * r.Float64()
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
	switch {
	case c.f16:
		return tolF16
	case c.gateN < 0:
		// growing states amplify float32 rounding in either form (measured: chunked ~5e-6,
		// recurrent ~2e-5 at T=200); the 1e-5 bound of docs/design.md §10 is for g <= 0
		return 1e-4
	}
	return tolF32
}

// stateTol is the bound on final states (float32 whatever the storage).
func (c glaCase) stateTol() float64 {
	if c.gateN < 0 {
		return c.tol()
	}
	return tolF32
}

// runGLAPrefill runs GLA in the given form on a case and checks o and the final state.
func runGLAPrefill(t *testing.T, d *gpu.Device, c glaCase, in glaInputs, form Form) {
	ts := glaUpload(t, d, c, in)
	var ws *Workspace // nil: scratch from stream temporaries
	if c.segBytes > 0 || c.T%2 == 0 {
		ws = NewWorkspace(d)
		ws.segBytes = c.segBytes
		defer ws.Close()
	}
	s := stream(t, d)
	if err := GLA(s, ws, ts.o, ts.q, ts.k, ts.v, ts.g, GLAOptions{InitialState: ts.h0, FinalState: ts.fin, CuSeqlens: ts.cu, Form: form}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if len(in.o) > 0 {
		checkErr(t, form.String()+" o", read(t, ts.o), in.o, c.tol())
	}
	if len(in.fin) > 0 {
		checkErr(t, form.String()+" final state", read(t, ts.fin), in.fin, c.stateTol())
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
	if err := GLARecurrent(s, ts.o, ts.fin, ts.q, ts.k, ts.v, ts.g, GLARecurrentOptions{CuSeqlens: ts.cu}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if len(in.o) > 0 {
		checkErr(t, "recurrent o", read(t, ts.o), in.o, c.tol())
	}
	if len(in.fin) > 0 {
		checkErr(t, "recurrent state", read(t, ts.fin), in.fin, c.stateTol())
	}
}

// glaCases is the test matrix: T in {1, 2, 5, 7, 15, 64, 65, 1000, 16384} (T ≤ 8: the streaming
// recurrent form on CPU devices) (and varlen 16384 at K = V = 128
// with -long), K and V in
// {16, 48, 64, 100, 128, 256} and one odd pair (33, 21: the scalar load path), gates
// logsigmoid(x)/n for n in {0.1, 1, 16} and uniform down to -20, with and without an initial
// state, varlen batches with sequences of length 0 and 1, f16 storage, and inputs long enough
// to be split into segments.
func glaCases(d *gpu.Device) []glaCase {
	cases := []glaCase{
		{B: 2, T: 1, H: 2, K: 64, V: 64, gateN: 1, h0: true},
		{B: 1, T: 15, H: 3, K: 16, V: 48, gateN: 0.1, h0: true},
		{B: 1, T: 64, H: 2, K: 64, V: 64, gateN: 16},
		{B: 2, T: 65, H: 1, K: 100, V: 100, gateN: 1, h0: true},
		{B: 1, T: 1000, H: 2, K: 128, V: 64, gateN: 1},
		{B: 1, T: 130, H: 1, K: 256, V: 256, gateN: 0, h0: true},
		{B: 3, T: 200, H: 1, K: 48, V: 16, gateN: 0.1},
		{B: 1, T: 300, H: 2, K: 64, V: 64, gateN: 1, h0: true, cu: []int32{0, 0, 1, 65, 65, 130, 131, 300}},
		{B: 1, T: 75, H: 2, K: 33, V: 21, gateN: 16, cu: []int32{0, 5, 5, 75}},
		{B: 1, T: 700, H: 2, K: 64, V: 64, gateN: 1, h0: true, cu: []int32{0, 1, 400, 400, 700}, segBytes: 96 << 10},
		{B: 1, T: 200, H: 2, K: 64, V: 64, gateN: -1, h0: true},
		// a few tokens: the streaming recurrent form on CPU devices (recStream), odd sizes, varlen
		{B: 1, T: 5, H: 3, K: 33, V: 21, gateN: 16, h0: true},
		{B: 1, T: 7, H: 2, K: 48, V: 100, gateN: 1, h0: true, cu: []int32{0, 0, 3, 4, 7}},
		{B: 2, T: 1, H: 4, K: 128, V: 256, gateN: 1, h0: true},
	}
	if d.Info().Float16Storage {
		cases = append(cases,
			glaCase{B: 2, T: 100, H: 2, K: 64, V: 64, gateN: 1, h0: true, f16: true},
			glaCase{B: 1, T: 150, H: 1, K: 48, V: 100, gateN: 0.1, f16: true, cu: []int32{0, 1, 1, 150}},
			glaCase{B: 2, T: 2, H: 2, K: 64, V: 36, gateN: 1, h0: true, f16: true})
	}
	cases = append(cases, glaCase{B: 1, T: 16384, H: 2, K: 64, V: 64, gateN: 1, h0: true})
	if *long {
		cases = append(cases, glaCase{B: 1, T: 16384, H: 2, K: 128, V: 128, gateN: 16, h0: true, cu: []int32{0, 1000, 1001, 9000, 16384}})
	}
	return cases
}

// TestGLA checks the prefill entry point GLA in both forms (each forced) and GLARecurrent against
// the float64 reference on every case.
func TestGLA(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, c := range glaCases(d) {
		t.Run(c.String(), func(t *testing.T) {
			in := glaMake(t, r, c)
			runGLAPrefill(t, d, c, in, FormChunked)
			runGLAPrefill(t, d, c, in, FormRecurrent)
			runGLARecurrent(t, d, c, in)
		})
	}
}

// TestGLAInPlace advances a state in place (FinalState = InitialState) in both forms and checks
// that the inputs are left as they were.
func TestGLAInPlace(t *testing.T) {
	d := device(t)
	r := newRand(t)
	c := glaCase{B: 2, T: 90, H: 2, K: 64, V: 64, gateN: 1, h0: true}
	in := glaMake(t, r, c)
	for _, form := range []Form{FormChunked, FormRecurrent} {
		t.Run(form.String(), func(t *testing.T) {
			ts := glaUpload(t, d, c, in)
			ws := NewWorkspace(d)
			defer ws.Close()
			s := stream(t, d)
			if err := GLA(s, ws, ts.o, ts.q, ts.k, ts.v, ts.g, GLAOptions{InitialState: ts.h0, FinalState: ts.h0, Form: form}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "o", read(t, ts.o), in.o, tolF32)
			checkErr(t, "state in place", read(t, ts.h0), in.fin, tolF32)
			for _, x := range []struct {
				name string
				t    *gpu.Tensor
				want []float64
			}{{"q", ts.q, in.q}, {"k", ts.k, in.k}, {"v", ts.v, in.v}, {"g", ts.g, in.g}} {
				if e := reference.MaxAbsErr(read(t, x.t), x.want); e != 0 {
					t.Errorf("%s was modified (max change %g)", x.name, e)
				}
			}
		})
	}
}

// TestGLAForms checks FormAuto's choice per device class and the recurrent form's handling of the
// prefill options: no final state (scratch), no workspace, FormAuto's result.
func TestGLAForms(t *testing.T) {
	d := device(t)
	r := newRand(t)
	peer := glaDims{B: 1, T: 512, H: 32, K: 64, V: 64, N: 1, Kp: 64, Vp: 64}
	gpuInfo := gpu.DeviceInfo{Type: gpu.Discrete}
	if f := glaPickForm(gpuInfo, FormAuto, peer); f != FormChunked {
		t.Errorf("auto on a GPU: %v, want chunked", f)
	}
	cpuInfo := gpu.DeviceInfo{Type: gpu.CPU}
	if !gpuTilesOnCPU {
		if f := glaPickForm(cpuInfo, FormAuto, peer); f != FormRecurrent {
			t.Errorf("auto on a CPU device at the peer shape: %v, want recurrent", f)
		}
	}
	for _, f := range []Form{FormChunked, FormRecurrent} {
		if got := glaPickForm(cpuInfo, f, peer); got != f {
			t.Errorf("forced %v on a CPU device: %v", f, got)
		}
		if got := glaPickForm(gpuInfo, f, peer); got != f {
			t.Errorf("forced %v on a GPU: %v", f, got)
		}
	}
	c := glaCase{B: 2, T: 70, H: 2, K: 64, V: 64, gateN: 1, h0: true}
	in := glaMake(t, r, c)
	for _, form := range []Form{FormAuto, FormChunked, FormRecurrent} {
		t.Run(form.String(), func(t *testing.T) {
			ts := glaUpload(t, d, c, in)
			s := stream(t, d)
			if err := GLA(s, nil, ts.o, ts.q, ts.k, ts.v, ts.g, GLAOptions{InitialState: ts.h0, Form: form}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "o without final state", read(t, ts.o), in.o, tolF32)
			checkErr(t, "initial state untouched", read(t, ts.h0), in.h0, 0)
		})
	}
}

// TestGLADecode prefills a prompt with the chunked form (forced), then decodes token after token with
// the recurrent form, every step recorded on the same stream before one submission, and checks
// the outputs and final state against the reference over the whole sequence. Each decode step
// must be at most 2 dispatches.
func TestGLADecode(t *testing.T) {
	d := device(t)
	r := newRand(t)
	const P, steps = 70, 6
	c := glaCase{B: 2, T: P + steps, H: 2, K: 64, V: 64, gateN: 1, h0: true}
	in := glaMake(t, r, c)
	rows := func(x []float64, dim, t0, t1 int) [][]float64 { // per batch, tokens t0..t1
		var out [][]float64
		for b := 0; b < c.B; b++ {
			out = append(out, x[((b*c.T+t0)*c.H)*dim:((b*c.T+t1)*c.H)*dim])
		}
		return out
	}
	cat := func(parts [][]float64) []float64 {
		var out []float64
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	up := func(x []float64, dim, t0, t1 int) *gpu.Tensor {
		return upload(t, d, gpu.F32, cat(rows(x, dim, t0, t1)), c.B, t1-t0, c.H, dim)
	}
	state := upload(t, d, gpu.F32, in.h0, c.B, c.H, c.K, c.V)
	s, err := d.NewStream(gpu.WithTimestamps(64))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ws := NewWorkspace(d)
	defer ws.Close()
	oPre := poisoned(t, d, gpu.F32, c.B, P, c.H, c.V)
	if err := GLA(s, ws, oPre, up(in.q, c.K, 0, P), up(in.k, c.K, 0, P), up(in.v, c.V, 0, P), up(in.g, c.K, 0, P),
		GLAOptions{InitialState: state, FinalState: state, Form: FormChunked}); err != nil {
		t.Fatal(err)
	}
	var oSteps []*gpu.Tensor
	for i := 0; i < steps; i++ {
		o := poisoned(t, d, gpu.F32, c.B, 1, c.H, c.V)
		oSteps = append(oSteps, o)
		t0 := P + i
		if err := GLARecurrent(s, o, state, up(in.q, c.K, t0, t0+1), up(in.k, c.K, t0, t0+1), up(in.v, c.V, t0, t0+1), up(in.g, c.K, t0, t0+1), GLARecurrentOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Timings()); n > 6+2*steps {
		t.Errorf("%d commands for a prefill and %d decode steps, want at most %d", n, steps, 6+2*steps)
	}
	wantO := rows(in.o, c.V, 0, c.T)
	var got, want []float64
	pre := read(t, oPre)
	for b := 0; b < c.B; b++ {
		for _, x := range pre[b*P*c.H*c.V : (b+1)*P*c.H*c.V] {
			got = append(got, float64(x))
		}
		want = append(want, wantO[b][:P*c.H*c.V]...)
	}
	for i, o := range oSteps {
		step := read(t, o)
		for b := 0; b < c.B; b++ {
			for _, x := range step[b*c.H*c.V : (b+1)*c.H*c.V] {
				got = append(got, float64(x))
			}
			want = append(want, wantO[b][(P+i)*c.H*c.V:(P+i+1)*c.H*c.V]...)
		}
	}
	checkErr(t, "prefill + decode o", reference.ToFloat32(got), want, tolF32)
	checkErr(t, "decoded state", read(t, state), in.fin, tolF32)
}

// TestGLAEmpty covers T = 0 (the final state is the initial one, or zeros) and B = 0, in both
// forms.
func TestGLAEmpty(t *testing.T) {
	for _, form := range []Form{FormChunked, FormRecurrent} {
		t.Run(form.String(), func(t *testing.T) { testGLAEmpty(t, form) })
	}
}

func testGLAEmpty(t *testing.T, form Form) {
	d := device(t)
	r := newRand(t)
	ws := NewWorkspace(d)
	defer ws.Close()
	f := func(n ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, n...) }
	h0v := rounded(randn(r, 2*2*8*4, 1))
	h0 := upload(t, d, gpu.F32, h0v, 2, 2, 8, 4)
	fin := f(2, 2, 8, 4)
	s := stream(t, d)
	if err := GLA(s, ws, f(2, 0, 2, 4), f(2, 0, 2, 8), f(2, 0, 2, 8), f(2, 0, 2, 4), f(2, 0, 2, 8), GLAOptions{InitialState: h0, FinalState: fin, Form: form}); err != nil {
		t.Fatal(err)
	}
	zero := f(2, 2, 8, 4)
	if err := GLA(s, ws, f(2, 0, 2, 4), f(2, 0, 2, 8), f(2, 0, 2, 8), f(2, 0, 2, 4), f(2, 0, 2, 8), GLAOptions{FinalState: zero, Form: form}); err != nil {
		t.Fatal(err)
	}
	if err := GLA(s, ws, f(0, 5, 2, 4), f(0, 5, 2, 8), f(0, 5, 2, 8), f(0, 5, 2, 4), f(0, 5, 2, 8), GLAOptions{Form: form}); err != nil {
		t.Fatal(err)
	}
	if err := GLARecurrent(s, f(2, 0, 2, 4), h0, f(2, 0, 2, 8), f(2, 0, 2, 8), f(2, 0, 2, 4), f(2, 0, 2, 8), GLARecurrentOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "T=0 final state", read(t, fin), h0v, 0)
	checkErr(t, "T=0 recurrent state", read(t, h0), h0v, 0)
	if e := reference.MaxAbsErr(read(t, zero), make([]float64, zero.Len())); e != 0 {
		t.Errorf("T=0 without initial state: final state not zero (max %g)", e)
	}
}

// TestGLAErrors checks that bad shapes, dtypes, options and cu_seqlens return ErrInvalidArgument, from
// both forms (the recurrent one checks only the shape of cu_seqlens, which it never reads).
func TestGLAErrors(t *testing.T) {
	d := device(t)
	ws := NewWorkspace(d)
	defer ws.Close()
	f := func(n ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, n...) }
	cu := func(v ...int32) *gpu.Tensor {
		x, err := d.FromInt32(v, len(v))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}
	cu2D, err := cu(0, 10).Reshape(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	type args struct {
		o, q, k, v, g *gpu.Tensor
		opt           GLAOptions
		state         *gpu.Tensor // recurrent
	}
	ok := func() args {
		return args{f(1, 10, 2, 4), f(1, 10, 2, 8), f(1, 10, 2, 8), f(1, 10, 2, 4), f(1, 10, 2, 8), GLAOptions{}, f(1, 2, 8, 4)}
	}
	both := map[string]func(a *args){
		"q 3-D":        func(a *args) { a.q = f(10, 2, 8) },
		"q nil":        func(a *args) { a.q = nil },
		"k shape":      func(a *args) { a.k = f(1, 10, 2, 7) },
		"g nil":        func(a *args) { a.g = nil },
		"v T":          func(a *args) { a.v = f(1, 9, 2, 4) },
		"o shape":      func(a *args) { a.o = f(1, 10, 2, 8) },
		"o dtype":      func(a *args) { a.o = poisoned(t, d, gpu.F16, 1, 10, 2, 4) },
		"mixed dtypes": func(a *args) { a.k = poisoned(t, d, gpu.F16, 1, 10, 2, 8) },
		"i32 q":        func(a *args) { a.q = poisoned(t, d, gpu.I32, 1, 10, 2, 8) },
		"K > 256":      func(a *args) { a.q, a.k, a.g = f(1, 10, 2, 257), f(1, 10, 2, 257), f(1, 10, 2, 257) },
		"V > 256":      func(a *args) { a.v, a.o = f(1, 10, 2, 257), f(1, 10, 2, 257) },
		"H = 0": func(a *args) {
			a.q, a.k, a.g, a.v, a.o = f(1, 10, 0, 8), f(1, 10, 0, 8), f(1, 10, 0, 8), f(1, 10, 0, 4), f(1, 10, 0, 4)
		},
		"scale NaN": func(a *args) { a.opt.Scale = &nan },
		"cu dtype":  func(a *args) { a.opt.CuSeqlens = f(2) },
		"cu 2-D":    func(a *args) { a.opt.CuSeqlens = cu2D },
		"cu empty":  func(a *args) { a.opt.CuSeqlens = cu() },
		"cu with B=2": func(a *args) {
			a.q, a.k, a.g, a.v, a.o, a.opt.CuSeqlens = f(2, 5, 2, 8), f(2, 5, 2, 8), f(2, 5, 2, 8), f(2, 5, 2, 4), f(2, 5, 2, 4), cu(0, 5)
		},
		"state rows vs cu": func(a *args) {
			a.opt.CuSeqlens, a.opt.InitialState, a.state = cu(0, 4, 10), f(1, 2, 8, 4), f(1, 2, 8, 4)
		},
		"state shape": func(a *args) { a.opt.InitialState, a.state = f(1, 2, 4, 8), f(1, 2, 4, 8) },
		"state dtype": func(a *args) {
			a.opt.InitialState, a.state = poisoned(t, d, gpu.F16, 1, 2, 8, 4), poisoned(t, d, gpu.F16, 1, 2, 8, 4)
		},
	}
	chunkedOnly := map[string]func(a *args){ // the prefill entry point's checks, whatever the form
		"final shape":   func(a *args) { a.opt.FinalState = f(2, 2, 8, 4) },
		"final dtype":   func(a *args) { a.opt.FinalState = poisoned(t, d, gpu.I32, 1, 2, 8, 4) },
		"cu start":      func(a *args) { a.opt.CuSeqlens = cu(1, 10) },
		"cu decreasing": func(a *args) { a.opt.CuSeqlens = cu(0, 6, 5, 10) },
		"cu end":        func(a *args) { a.opt.CuSeqlens = cu(0, 5, 9) },
		"cu past T":     func(a *args) { a.opt.CuSeqlens = cu(0, 5, 11) },
	}
	recurrentOnly := map[string]func(a *args){
		"state nil": func(a *args) { a.state = nil },
	}
	s := stream(t, d)
	check := func(form, name string, err error) {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s, %s: got %v, want ErrInvalidArgument", form, name, err)
		} else {
			t.Logf("%s, %s: %v", form, name, err)
		}
	}
	checkPrefill := func(name string, a args) { // the prefill entry point, every form
		for _, form := range []Form{FormAuto, FormChunked, FormRecurrent} {
			a.opt.Form = form
			check("GLA "+form.String(), name, GLA(s, ws, a.o, a.q, a.k, a.v, a.g, a.opt))
		}
	}
	for name, mod := range both {
		a := ok()
		mod(&a)
		checkPrefill(name, a)
		check("recurrent", name, GLARecurrent(s, a.o, a.state, a.q, a.k, a.v, a.g, GLARecurrentOptions{Scale: a.opt.Scale, CuSeqlens: a.opt.CuSeqlens}))
	}
	for name, mod := range chunkedOnly {
		a := ok()
		mod(&a)
		checkPrefill(name, a)
	}
	for name, mod := range recurrentOnly {
		a := ok()
		mod(&a)
		check("recurrent", name, GLARecurrent(s, a.o, a.state, a.q, a.k, a.v, a.g, GLARecurrentOptions{}))
	}
	a := ok()
	check("chunked", "nil stream", GLA(nil, ws, a.o, a.q, a.k, a.v, a.g, a.opt))
	for _, f := range []Form{-1, 3} {
		a.opt.Form = f
		check("GLA", fmt.Sprintf("form %d", f), GLA(s, ws, a.o, a.q, a.k, a.v, a.g, a.opt))
	}
	a.opt.Form = FormAuto
	// a good call still records on the same stream and workspace
	if err := GLA(s, ws, a.o, a.q, a.k, a.v, a.g, a.opt); err != nil {
		t.Fatal(err)
	}
	if err := GLARecurrent(s, a.o, a.state, a.q, a.k, a.v, a.g, GLARecurrentOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
}

// TestGLARecurrentOneToken runs one-token steps (the decode shape) with the texel variant
// (gla_rec_t, CPU devices) on and off: f32 and f16, K and V multiples of 4 or not (which fall back),
// several sequences and heads, and varlen with one token in all.
func TestGLARecurrentOneToken(t *testing.T) {
	d := device(t)
	r := newRand(t)
	cases := []glaCase{
		{B: 3, T: 1, H: 2, K: 64, V: 48, gateN: 1, h0: true},
		{B: 1, T: 1, H: 3, K: 33, V: 20, gateN: 16, h0: true},
		{B: 2, T: 1, H: 1, K: 128, V: 128, gateN: 0.1},
		{B: 1, T: 1, H: 2, K: 16, V: 16, gateN: 1, h0: true, cu: []int32{0, 0, 1}},
	}
	if d.Info().Float16Storage {
		cases = append(cases, glaCase{B: 2, T: 1, H: 2, K: 64, V: 36, gateN: 1, h0: true, f16: true})
	}
	for _, c := range cases {
		for _, tex := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v_texel=%v", c, tex), func(t *testing.T) {
				glaTexel = tex
				t.Cleanup(func() { glaTexel = true })
				runGLARecurrent(t, d, c, glaMake(t, r, c))
			})
		}
	}
}

// TestGLARecurrentGate computes the gate in the step (GLARecurrentOptions.Gate: gk_proj.1 and
// logsigmoid / normalizer) against the float64 recurrence with that gate: one token (gla_rec_t on
// CPU devices, F32 and F16 weights, with and without bias), R not a multiple of 4 and two tokens
// (the fallback: GEMV and activation first), with the texel variant off too; and bad gates.
func TestGLARecurrentGate(t *testing.T) {
	d := device(t)
	r := newRand(t)
	wtypes := []gpu.DType{gpu.F32}
	if d.Info().Float16Storage {
		wtypes = append(wtypes, gpu.F16)
	}
	type gc struct {
		c    glaCase
		R    int
		bias bool
		tex  bool
	}
	cases := []gc{
		{glaCase{B: 2, T: 1, H: 2, K: 64, V: 48, h0: true}, 16, true, true},
		{glaCase{B: 1, T: 1, H: 3, K: 32, V: 20, h0: true}, 8, false, true},
		{glaCase{B: 2, T: 1, H: 2, K: 16, V: 16, h0: true}, 5, true, true},
		{glaCase{B: 1, T: 2, H: 2, K: 16, V: 32, h0: true}, 16, true, true},
		{glaCase{B: 2, T: 1, H: 2, K: 64, V: 48, h0: true}, 16, true, false},
	}
	for _, tc := range cases {
		for _, wt := range wtypes {
			t.Run(fmt.Sprintf("%v_R%d_bias%v_%v_texel%v", tc.c, tc.R, tc.bias, wt, tc.tex), func(t *testing.T) {
				glaTexel = tc.tex
				t.Cleanup(func() { glaTexel = true })
				c := tc.c
				c.gateN = 1
				in := glaMake(t, r, c)
				rows, hk, R := c.B*c.T, c.H*c.K, tc.R
				low := rounded(randn(r, rows*R, 1))
				w := rounded(randn(r, hk*R, 1/math.Sqrt(float64(R))))
				if wt == gpu.F16 {
					w = roundF16(w)
				}
				bias := make([]float64, hk)
				if tc.bias {
					bias = rounded(uniform(r, hk, -1, 2))
				}
				const norm = 16
				for i := 0; i < rows; i++ {
					for j := 0; j < hk; j++ {
						a := bias[j]
						for k := 0; k < R; k++ {
							a += w[j*R+k] * low[i*R+k]
						}
						in.g[i*hk+j] = logsigmoid(a) / norm
					}
				}
				var err error
				in.o, in.fin, err = reference.GLA(in.q, in.k, in.v, in.g, reference.LinearAttnShape{B: c.B, T: c.T, H: c.H, K: c.K, V: c.V},
					reference.GLAOptions{InitialState: in.h0})
				if err != nil {
					t.Fatal(err)
				}
				ts := glaUpload(t, d, c, in)
				state := upload(t, d, gpu.F32, in.h0, c.n(), c.H, c.K, c.V)
				gate := &GLAGate{Low: upload(t, d, gpu.F32, low, c.B, c.T, R), Weight: upload(t, d, wt, w, hk, R), Normalizer: norm}
				if tc.bias {
					gate.Bias = upload(t, d, gpu.F32, bias, hk)
				}
				s := stream(t, d)
				if err := GLARecurrent(s, ts.o, state, ts.q, ts.k, ts.v, nil, GLARecurrentOptions{Gate: gate}); err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				checkErr(t, "o", read(t, ts.o), in.o, c.tol())
				checkErr(t, "state", read(t, state), in.fin, c.stateTol())
				checkErr(t, "low (unchanged)", read(t, gate.Low), low, 0)
			})
		}
	}
	// Bad gates: errors that say what is wrong.
	c := glaCase{B: 1, T: 1, H: 2, K: 16, V: 16, h0: true}
	ts := glaUpload(t, d, c, glaMake(t, r, c))
	state := poisoned(t, d, gpu.F32, 1, 2, 16, 16)
	f32 := func(sh ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, sh...) }
	s := stream(t, d)
	for name, tc := range map[string]struct {
		g    *gpu.Tensor
		gate GLAGate
	}{
		"g and gate":      {ts.g, GLAGate{Low: f32(1, 1, 8), Weight: f32(32, 8), Normalizer: 16}},
		"weight rows":     {nil, GLAGate{Low: f32(1, 1, 8), Weight: f32(31, 8), Normalizer: 16}},
		"low length":      {nil, GLAGate{Low: f32(1, 1, 7), Weight: f32(32, 8), Normalizer: 16}},
		"zero normalizer": {nil, GLAGate{Low: f32(1, 1, 8), Weight: f32(32, 8)}},
		"bias length":     {nil, GLAGate{Low: f32(1, 1, 8), Weight: f32(32, 8), Bias: f32(31), Normalizer: 16}},
	} {
		gate := tc.gate
		err := GLARecurrent(s, ts.o, state, ts.q, ts.k, ts.v, tc.g, GLARecurrentOptions{Gate: &gate})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
