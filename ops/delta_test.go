package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// deltaCase is one delta-rule test: shape, gate kind, beta range, options.
type deltaCase struct {
	B, T, H, K, V int
	gate          int  // 0: none (g nil), 1: log(uniform(0.5, 1)), 2: exactly 0
	l2            bool // in-kernel L2 normalisation (otherwise unit keys from the host)
	h0            bool
	cu            []int32
	parity        bool // beta = 2 everywhere
	f16           bool
	strong        bool // gates log(uniform(0.5, 1)) - uniform(0, 20): strong decay
	seg           int  // chunked form: segment cap in bytes (0: default), forcing several segments
}

func (c deltaCase) String() string {
	s := fmt.Sprintf("B%d_T%d_H%d_K%d_V%d_g%d", c.B, c.T, c.H, c.K, c.V, c.gate)
	if c.l2 {
		s += "_l2"
	}
	if c.h0 {
		s += "_h0"
	}
	if c.cu != nil {
		s += fmt.Sprintf("_cu%v", c.cu)
	}
	if c.parity {
		s += "_parity"
	}
	if c.f16 {
		s += "_f16"
	}
	if c.strong {
		s += "_strong"
	}
	if c.seg > 0 {
		s += fmt.Sprintf("_seg%d", c.seg)
	}
	return s
}

func (c deltaCase) n() int {
	if c.cu != nil {
		return len(c.cu) - 1
	}
	return c.B
}

type deltaInputs struct {
	q, k, v, beta, g, h0 []float64
	o, fin               []float64
}

// unitRows scales every row of C values to unit L2 norm.
func unitRows(x []float64, C int) {
	for r := 0; r < len(x); r += C {
		var ss float64
		for _, v := range x[r : r+C] {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss)
		for i := r; i < r+C; i++ {
			x[i] *= inv
		}
	}
}

func deltaMake(t testing.TB, r *rand.Rand, c deltaCase) deltaInputs {
	t.Helper()
	nk, nv, nh := c.B*c.T*c.H*c.K, c.B*c.T*c.H*c.V, c.B*c.T*c.H
	in := deltaInputs{q: randn(r, nk, 1), k: randn(r, nk, 1), v: randn(r, nv, 1), beta: make([]float64, nh)}
	if !c.l2 {
		unitRows(in.k, c.K)
	}
	for i := range in.beta {
		in.beta[i] = 2 * r.Float64()
		if c.parity {
			in.beta[i] = 2
		}
	}
	if c.gate != 0 {
		in.g = make([]float64, nh)
		if c.gate == 1 {
			for i := range in.g {
				in.g[i] = math.Log(0.5 + 0.5*r.Float64())
				if c.strong {
					in.g[i] -= 20 * r.Float64()
				}
			}
		}
	}
	rnd := rounded
	if c.f16 {
		rnd = roundF16
	}
	in.q, in.k, in.v, in.beta = rnd(in.q), rnd(in.k), rnd(in.v), rnd(in.beta)
	if in.g != nil {
		in.g = rnd(in.g)
	}
	if c.h0 {
		in.h0 = rounded(randn(r, c.n()*c.H*c.K*c.V, 1))
	}
	var err error
	in.o, in.fin, err = reference.DeltaRule(in.q, in.k, in.v, in.beta, reference.LinearAttnShape{B: c.B, T: c.T, H: c.H, K: c.K, V: c.V},
		reference.DeltaOptions{G: in.g, UseQKL2Norm: c.l2, InitialState: in.h0, CuSeqlens: c.cu})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// deltaRun runs one case through the chunked form of DeltaRule (forced) or DeltaRuleRecurrent and
// compares o and the final state with the float64 reference.
func deltaRun(t *testing.T, c deltaCase, chunked bool) {
	if chunked {
		deltaRunAs(t, c, FormChunked, false)
	} else {
		deltaRunAs(t, c, FormRecurrent, true)
	}
}

// deltaRunAs runs one case through the prefill entry point DeltaRule in the given form, or
// (direct) through DeltaRuleRecurrent, and compares o and the final state with the float64
// reference.
func deltaRunAs(t *testing.T, c deltaCase, form Form, direct bool) {
	d := device(t)
	if c.f16 && !d.Info().Float16Storage {
		t.Skip("no 16-bit storage")
	}
	r := newRand(t)
	in := deltaMake(t, r, c)
	dt, tol := gpu.F32, tolF32
	if c.f16 {
		dt, tol = gpu.F16, tolF16
	}
	q := upload(t, d, dt, in.q, c.B, c.T, c.H, c.K)
	k := upload(t, d, dt, in.k, c.B, c.T, c.H, c.K)
	v := upload(t, d, dt, in.v, c.B, c.T, c.H, c.V)
	beta := upload(t, d, dt, in.beta, c.B, c.T, c.H)
	var g *gpu.Tensor
	if in.g != nil {
		g = upload(t, d, dt, in.g, c.B, c.T, c.H)
	}
	o := poisoned(t, d, dt, c.B, c.T, c.H, c.V)
	h0 := in.h0
	if h0 == nil {
		h0 = make([]float64, c.n()*c.H*c.K*c.V)
	}
	state := upload(t, d, gpu.F32, h0, c.n(), c.H, c.K, c.V)
	var cu *gpu.Tensor
	if c.cu != nil {
		var err error
		if cu, err = d.FromInt32(c.cu, len(c.cu)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cu.Close() })
	}
	s := stream(t, d)
	if !direct {
		opt := DeltaRuleOptions{UseQKL2Norm: c.l2, CuSeqlens: cu, FinalState: poisoned(t, d, gpu.F32, c.n(), c.H, c.K, c.V), Form: form}
		if c.h0 {
			opt.InitialState = state
		}
		var ws *Workspace
		if c.seg > 0 {
			ws = NewWorkspace(d)
			ws.segBytes = uint64(c.seg)
			t.Cleanup(func() { ws.Close() })
		}
		if err := DeltaRule(s, ws, o, q, k, v, beta, g, opt); err != nil {
			t.Fatal(err)
		}
		state = opt.FinalState
	} else if err := DeltaRuleRecurrent(s, o, state, q, k, v, beta, g, DeltaRuleRecurrentOptions{UseQKL2Norm: c.l2, CuSeqlens: cu}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "o", read(t, o), in.o, tol)
	checkErr(t, "final state", read(t, state), in.fin, tol)
}

func TestDeltaRuleRecurrent(t *testing.T) {
	cases := []deltaCase{
		// T sweep at K = V = 64, gated, with and without an initial state
		{B: 2, T: 1, H: 2, K: 64, V: 64, gate: 1, h0: true},
		{B: 2, T: 16, H: 2, K: 64, V: 64, gate: 1},
		{B: 1, T: 63, H: 2, K: 64, V: 64, gate: 1, h0: true},
		{B: 1, T: 64, H: 2, K: 64, V: 64, gate: 0},
		{B: 1, T: 65, H: 2, K: 64, V: 64, gate: 2, h0: true},
		{B: 1, T: 1000, H: 2, K: 64, V: 64, gate: 1, h0: true},
		{B: 1, T: 1000, H: 1, K: 64, V: 64, gate: 0, l2: true},
		// K, V sweep (multiples of 4 and not)
		{B: 1, T: 65, H: 2, K: 16, V: 16, gate: 1, h0: true},
		{B: 1, T: 65, H: 2, K: 32, V: 100, gate: 0, l2: true},
		{B: 1, T: 65, H: 1, K: 100, V: 32, gate: 1, h0: true},
		{B: 1, T: 65, H: 1, K: 100, V: 100, gate: 2, l2: true},
		{B: 1, T: 65, H: 1, K: 128, V: 128, gate: 1, h0: true, l2: true},
		{B: 1, T: 16, H: 1, K: 16, V: 128, gate: 0},
		{B: 1, T: 40, H: 1, K: 256, V: 256, gate: 1, h0: true},
		{B: 1, T: 16, H: 1, K: 7, V: 5, gate: 1, h0: true},
		// variable length with empty and one-token sequences
		{B: 1, T: 81, H: 2, K: 64, V: 64, gate: 1, h0: true, cu: []int32{0, 0, 1, 1, 40, 41, 81, 81}},
		{B: 1, T: 3, H: 2, K: 32, V: 32, gate: 0, l2: true, cu: []int32{0, 1, 2, 2, 3}},
		// parity: beta = 2 with unit keys makes every step a reflection along k
		{B: 1, T: 4096, H: 1, K: 64, V: 64, gate: 0, parity: true, h0: true},
		// f16 storage
		{B: 1, T: 65, H: 2, K: 64, V: 64, gate: 1, h0: true, f16: true},
		// a few tokens: the streaming form on CPU devices (recStream), odd sizes, one token
		{B: 3, T: 1, H: 3, K: 128, V: 128, gate: 1, h0: true, l2: true},
		{B: 1, T: 4, H: 2, K: 7, V: 5, gate: 1, h0: true},
		{B: 2, T: 8, H: 1, K: 100, V: 36, gate: 0, l2: true, h0: true},
		{B: 1, T: 2, H: 1, K: 256, V: 256, gate: 2, h0: true},
		{B: 1, T: 5, H: 2, K: 64, V: 64, gate: 1, h0: true, cu: []int32{0, 0, 1, 5}},
		{B: 2, T: 1, H: 2, K: 64, V: 48, gate: 1, h0: true, f16: true},
		{B: 1, T: 6, H: 3, K: 36, V: 20, gate: 1, h0: true, l2: true, f16: true, cu: []int32{0, 2, 2, 6}},
		// one token: the texel variant on CPU devices (K, V multiples of 4), varlen, f16, odd V
		{B: 1, T: 1, H: 3, K: 36, V: 20, gate: 1, h0: true, l2: true, f16: true, cu: []int32{0, 0, 1, 1}},
		{B: 1, T: 1, H: 5, K: 12, V: 44, gate: 0, h0: true, cu: []int32{0, 1, 1}},
		{B: 2, T: 1, H: 1, K: 256, V: 256, gate: 2, h0: true},
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) { deltaRun(t, c, false) })
	}
}

// TestDeltaRuleRecurrentNoTexel runs the streaming cases (a few tokens) with the texel variant
// off, so that CPU devices also check the storage-buffer kernel it falls back to.
func TestDeltaRuleRecurrentNoTexel(t *testing.T) {
	deltaTexel = false
	t.Cleanup(func() { deltaTexel = true })
	for _, c := range []deltaCase{
		{B: 3, T: 1, H: 3, K: 128, V: 128, gate: 1, h0: true, l2: true},
		{B: 1, T: 5, H: 2, K: 64, V: 64, gate: 1, h0: true, cu: []int32{0, 0, 1, 5}},
		{B: 2, T: 1, H: 2, K: 64, V: 48, gate: 1, h0: true, f16: true},
	} {
		t.Run(c.String(), func(t *testing.T) { deltaRun(t, c, false) })
	}
}

// TestDeltaRule checks the prefill entry point in both forms, each forced, the chunked (WY / UT)
// one and the recurrent one, against the float64 recurrence: the T sweep the
// issue names (1, 16, 63, 64, 65, 1000, 8192; chunk edges at 64), K and V from 16 to 256 with
// sizes that are not multiples of 4 or of the 16-row blocks, plain, gated (log uniform(0.5, 1))
// and zero gates, strong decay, in-kernel L2 norms, initial states, variable lengths with empty
// and one-token sequences, several segments, beta = 2 parity, and f16 storage.
func TestDeltaRule(t *testing.T) {
	cases := []deltaCase{
		{B: 2, T: 1, H: 2, K: 64, V: 64, gate: 1, h0: true},
		{B: 2, T: 16, H: 2, K: 64, V: 64, gate: 1},
		{B: 1, T: 63, H: 2, K: 64, V: 64, gate: 1, h0: true},
		{B: 1, T: 64, H: 2, K: 64, V: 64, gate: 0},
		{B: 1, T: 65, H: 2, K: 64, V: 64, gate: 2, h0: true},
		{B: 1, T: 1000, H: 2, K: 64, V: 64, gate: 1, h0: true},
		{B: 1, T: 1000, H: 1, K: 64, V: 64, gate: 0, l2: true},
		{B: 1, T: 1000, H: 2, K: 64, V: 64, gate: 1, strong: true, h0: true},
		{B: 1, T: 8192, H: 1, K: 64, V: 64, gate: 1, h0: true},
		{B: 1, T: 200, H: 2, K: 16, V: 16, gate: 1, h0: true},
		{B: 1, T: 200, H: 2, K: 32, V: 100, gate: 0, l2: true},
		{B: 1, T: 130, H: 1, K: 100, V: 32, gate: 1, h0: true},
		{B: 1, T: 130, H: 1, K: 100, V: 100, gate: 2, l2: true},
		{B: 1, T: 130, H: 2, K: 128, V: 128, gate: 1, h0: true, l2: true},
		{B: 1, T: 130, H: 1, K: 256, V: 256, gate: 1, h0: true},
		{B: 1, T: 77, H: 1, K: 16, V: 128, gate: 0},
		{B: 1, T: 77, H: 1, K: 7, V: 5, gate: 1, h0: true},
		{B: 1, T: 81, H: 2, K: 64, V: 64, gate: 1, h0: true, cu: []int32{0, 0, 1, 1, 40, 41, 81, 81}},
		{B: 1, T: 3, H: 2, K: 32, V: 32, gate: 0, l2: true, cu: []int32{0, 1, 2, 2, 3}},
		{B: 1, T: 300, H: 2, K: 64, V: 64, gate: 1, h0: true, cu: []int32{0, 70, 71, 200, 300}, seg: 700 << 10},
		{B: 2, T: 700, H: 2, K: 32, V: 48, gate: 1, seg: 400 << 10},
		{B: 1, T: 4096, H: 1, K: 64, V: 64, gate: 0, parity: true, h0: true},
		{B: 1, T: 4096, H: 1, K: 64, V: 64, gate: 1, parity: true, h0: true},
		{B: 1, T: 200, H: 2, K: 64, V: 64, gate: 1, h0: true, f16: true},
		{B: 1, T: 130, H: 1, K: 100, V: 36, gate: 0, l2: true, f16: true, cu: []int32{0, 1, 66, 130}},
		{B: 1, T: 70, H: 2, K: 7, V: 5, gate: 1, h0: true, f16: true},
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			deltaRunAs(t, c, FormChunked, false)
			deltaRunAs(t, c, FormRecurrent, false)
		})
	}
}

// TestDeltaRuleDecode runs a sequence in pieces on one stream, carrying the state, against one
// reference run: a prefill of 70 tokens (two chunks; in each form), a recurrent piece of 20, then
// single-token recurrent steps.
func TestDeltaRuleDecode(t *testing.T) {
	for _, form := range []Form{FormChunked, FormRecurrent} {
		t.Run(form.String(), func(t *testing.T) { testDeltaRuleDecode(t, form) })
	}
}

func testDeltaRuleDecode(t *testing.T, form Form) {
	d := device(t)
	r := newRand(t)
	c := deltaCase{B: 2, T: 94, H: 2, K: 64, V: 64, gate: 1, h0: true}
	in := deltaMake(t, r, c)
	state := upload(t, d, gpu.F32, in.h0, c.B, c.H, c.K, c.V)
	slice := func(x []float64, dim, t0, t1 int, shape ...int) *gpu.Tensor {
		var out []float64
		for b := 0; b < c.B; b++ {
			out = append(out, x[((b*c.T+t0)*c.H)*dim:((b*c.T+t1)*c.H)*dim]...)
		}
		return upload(t, d, gpu.F32, out, shape...)
	}
	s := stream(t, d)
	bounds := []int{0, 70, 90, 91, 92, 93, 94}
	var outs []*gpu.Tensor
	for i := 0; i+1 < len(bounds); i++ {
		t0, t1 := bounds[i], bounds[i+1]
		n := t1 - t0
		o := poisoned(t, d, gpu.F32, c.B, n, c.H, c.V)
		outs = append(outs, o)
		if i == 0 {
			if err := DeltaRule(s, nil, o, slice(in.q, c.K, t0, t1, c.B, n, c.H, c.K), slice(in.k, c.K, t0, t1, c.B, n, c.H, c.K),
				slice(in.v, c.V, t0, t1, c.B, n, c.H, c.V), slice(in.beta, 1, t0, t1, c.B, n, c.H), slice(in.g, 1, t0, t1, c.B, n, c.H),
				DeltaRuleOptions{InitialState: state, FinalState: state, Form: form}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := DeltaRuleRecurrent(s, o, state, slice(in.q, c.K, t0, t1, c.B, n, c.H, c.K), slice(in.k, c.K, t0, t1, c.B, n, c.H, c.K),
			slice(in.v, c.V, t0, t1, c.B, n, c.H, c.V), slice(in.beta, 1, t0, t1, c.B, n, c.H), slice(in.g, 1, t0, t1, c.B, n, c.H),
			DeltaRuleRecurrentOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	var got []float32
	var want []float64
	for b := 0; b < c.B; b++ {
		for i, o := range outs {
			t0, t1 := bounds[i], bounds[i+1]
			x := read(t, o)
			n := (t1 - t0) * c.H * c.V
			got = append(got, x[b*n:(b+1)*n]...)
			want = append(want, in.o[((b*c.T+t0)*c.H)*c.V:((b*c.T+t1)*c.H)*c.V]...)
		}
	}
	checkErr(t, "pieces o", got, want, tolF32)
	checkErr(t, "pieces state", read(t, state), in.fin, tolF32)
}

// TestDeltaRuleEmpty: T = 0 and B = 0 leave the state alone.
func TestDeltaRuleEmpty(t *testing.T) {
	d := device(t)
	r := newRand(t)
	f := func(n ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, n...) }
	h0v := rounded(randn(r, 2*2*8*4, 1))
	h0 := upload(t, d, gpu.F32, h0v, 2, 2, 8, 4)
	s := stream(t, d)
	if err := DeltaRuleRecurrent(s, f(2, 0, 2, 4), h0, f(2, 0, 2, 8), f(2, 0, 2, 8), f(2, 0, 2, 4), f(2, 0, 2), f(2, 0, 2), DeltaRuleRecurrentOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := DeltaRuleRecurrent(s, f(0, 5, 2, 4), f(0, 2, 8, 4), f(0, 5, 2, 8), f(0, 5, 2, 8), f(0, 5, 2, 4), f(0, 5, 2), nil, DeltaRuleRecurrentOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "T=0 state", read(t, h0), h0v, 0)

	// the prefill entry point, either form: no token copies the initial state to the final one,
	// or zeros it
	for _, form := range []Form{FormChunked, FormRecurrent} {
		fin, fin0 := f(2, 2, 8, 4), f(2, 2, 8, 4)
		if err := DeltaRule(s, nil, f(2, 0, 2, 4), f(2, 0, 2, 8), f(2, 0, 2, 8), f(2, 0, 2, 4), f(2, 0, 2), f(2, 0, 2),
			DeltaRuleOptions{InitialState: h0, FinalState: fin, Form: form}); err != nil {
			t.Fatal(err)
		}
		if err := DeltaRule(s, nil, f(2, 0, 2, 4), f(2, 0, 2, 8), f(2, 0, 2, 8), f(2, 0, 2, 4), f(2, 0, 2), nil,
			DeltaRuleOptions{FinalState: fin0, Form: form}); err != nil {
			t.Fatal(err)
		}
		if err := DeltaRule(s, nil, f(0, 5, 2, 4), f(0, 5, 2, 8), f(0, 5, 2, 8), f(0, 5, 2, 4), f(0, 5, 2), nil, DeltaRuleOptions{Form: form}); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		checkErr(t, form.String()+" T=0 final state", read(t, fin), h0v, 0)
		if z := read(t, fin0); slices.ContainsFunc(z, func(x float32) bool { return x != 0 }) {
			t.Errorf("%v T=0 without initial state: final state not zero: %v", form, z[:8])
		}
	}
}

// TestDeltaRuleErrors checks that bad shapes, dtypes and options return ErrInvalidArgument.
func TestDeltaRuleErrors(t *testing.T) {
	d := device(t)
	f := func(n ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, n...) }
	cu := func(v ...int32) *gpu.Tensor {
		x, err := d.FromInt32(v, len(v))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}
	i32, err := d.NewTensor(gpu.I32, 1, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i32.Close() })
	type args struct {
		o, q, k, v, beta, g, state *gpu.Tensor
		opt                        DeltaRuleRecurrentOptions
	}
	ok := func() args {
		return args{f(1, 10, 2, 4), f(1, 10, 2, 8), f(1, 10, 2, 8), f(1, 10, 2, 4), f(1, 10, 2), f(1, 10, 2), f(1, 2, 8, 4), DeltaRuleRecurrentOptions{}}
	}
	nan := float32(math.NaN())
	bad := map[string]func(a *args){
		"q 3-D":            func(a *args) { a.q = f(10, 2, 8) },
		"q nil":            func(a *args) { a.q = nil },
		"k nil":            func(a *args) { a.k = nil },
		"k shape":          func(a *args) { a.k = f(1, 10, 2, 7) },
		"v T":              func(a *args) { a.v = f(1, 9, 2, 4) },
		"o shape":          func(a *args) { a.o = f(1, 10, 2, 5) },
		"o nil":            func(a *args) { a.o = nil },
		"beta nil":         func(a *args) { a.beta = nil },
		"beta per channel": func(a *args) { a.beta = f(1, 10, 2, 8) },
		"beta i32":         func(a *args) { a.beta = i32 },
		"g per channel":    func(a *args) { a.g = f(1, 10, 2, 8) },
		"g T":              func(a *args) { a.g = f(1, 11, 2) },
		"state nil":        func(a *args) { a.state = nil },
		"state shape":      func(a *args) { a.state = f(1, 2, 4, 8) },
		"state N":          func(a *args) { a.state = f(2, 2, 8, 4) },
		"K too big":        func(a *args) { a.q, a.k, a.state = f(1, 10, 2, 257), f(1, 10, 2, 257), f(1, 2, 257, 4) },
		"V too big":        func(a *args) { a.v, a.o, a.state = f(1, 10, 2, 300), f(1, 10, 2, 300), f(1, 2, 8, 300) },
		"scale NaN":        func(a *args) { a.opt.Scale = &nan },
		"cu B=2": func(a *args) {
			a.q, a.k, a.v, a.o, a.beta, a.g = f(2, 10, 2, 8), f(2, 10, 2, 8), f(2, 10, 2, 4), f(2, 10, 2, 4), f(2, 10, 2), f(2, 10, 2)
			a.opt.CuSeqlens = cu(0, 10)
		},
		"cu state N": func(a *args) { a.opt.CuSeqlens = cu(0, 5, 10) },
		"cu f32":     func(a *args) { a.opt.CuSeqlens = f(2) },
	}
	// the chunked form reads cu_seqlens on the host and checks its contents too
	chunkedOnly := map[string]func(a *args){
		"cu first":      func(a *args) { a.opt.CuSeqlens, a.state = cu(1, 10), f(1, 2, 8, 4) },
		"cu decreasing": func(a *args) { a.opt.CuSeqlens, a.state = cu(0, 6, 5, 10), f(3, 2, 8, 4) },
		"cu last":       func(a *args) { a.opt.CuSeqlens, a.state = cu(0, 5, 9), f(2, 2, 8, 4) },
	}
	call := func(s *gpu.Stream, chunked bool, a args) error { // chunked: the prefill entry point, each form
		if chunked {
			for _, form := range []Form{FormAuto, FormChunked, FormRecurrent} {
				err := DeltaRule(s, nil, a.o, a.q, a.k, a.v, a.beta, a.g, DeltaRuleOptions{Scale: a.opt.Scale, UseQKL2Norm: a.opt.UseQKL2Norm,
					CuSeqlens: a.opt.CuSeqlens, InitialState: a.state, FinalState: a.state, Form: form})
				if err != nil {
					return fmt.Errorf("form %v: %w", form, err)
				}
			}
			return nil
		}
		return DeltaRuleRecurrent(s, a.o, a.state, a.q, a.k, a.v, a.beta, a.g, a.opt)
	}
	s := stream(t, d)
	for _, chunked := range []bool{false, true} {
		a := ok()
		if err := call(s, chunked, a); err != nil {
			t.Fatalf("chunked=%v: valid arguments: %v", chunked, err)
		}
		if err := call(nil, chunked, a); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("chunked=%v: nil stream: got %v, want ErrInvalidArgument", chunked, err)
		}
		for name, mod := range bad {
			if chunked && name == "state nil" {
				continue // legal: no initial state, no final state wanted
			}
			a := ok()
			mod(&a)
			if err := call(s, chunked, a); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("chunked=%v: %s: got %v, want ErrInvalidArgument", chunked, name, err)
			} else {
				t.Logf("chunked=%v: %s: %v", chunked, name, err)
			}
		}
		if !chunked {
			continue
		}
		for name, mod := range chunkedOnly {
			a := ok()
			mod(&a)
			if err := call(s, chunked, a); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("chunked: %s: got %v, want ErrInvalidArgument", name, err)
			} else {
				t.Logf("chunked: %s: %v", name, err)
			}
		}
	}
	// the form must be one of the three
	for _, form := range []Form{-1, 3} {
		a := ok()
		if err := DeltaRule(s, nil, a.o, a.q, a.k, a.v, a.beta, a.g, DeltaRuleOptions{Form: form}); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("form %d: got %v, want ErrInvalidArgument", form, err)
		}
	}
	// a segment cap below one chunk's scratch: refused as unsupported, not run
	ws := NewWorkspace(d)
	ws.segBytes = 1 << 10
	t.Cleanup(func() { ws.Close() })
	a := ok()
	if err := DeltaRule(s, ws, a.o, a.q, a.k, a.v, a.beta, a.g, DeltaRuleOptions{Form: FormChunked}); !errors.Is(err, gpu.ErrUnsupported) {
		t.Errorf("scratch cap below one chunk: got %v, want gpu.ErrUnsupported", err)
	} else {
		t.Logf("scratch cap below one chunk: %v", err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
}

// TestDeltaRuleParity shows the negative eigenvalue at work: one unit key k repeated, v = 0,
// beta = 2 and no gate make every step the reflection S <- (I - 2 k kᵀ) S, so with q = k the
// output o_t = scale Sₜᵀk = scale (-1)^(t+1) S₀ᵀk flips sign at every token for T = 4096 tokens
// (beta clamped to 1 would give o_t = 0 for every t). Both forms, against that closed form.
func TestDeltaRuleParity(t *testing.T) {
	d := device(t)
	r := newRand(t)
	const T, K, V = 4096, 64, 64
	// entries ±1/8 with random signs: a key of exactly unit norm in float32 too (a rounded random
	// unit vector has ‖k‖² = 1 + δ, δ ≈ 1e-7, and 4096 reflections scale its component by
	// (1 + 2δ)^4096 ≈ 1 + 1e-3, which the closed form below would not have)
	k := make([]float64, K)
	for i := range k {
		k[i] = 0.125
		if r.IntN(2) == 0 {
			k[i] = -0.125
		}
	}
	h0 := rounded(randn(r, K*V, 1))
	kS := make([]float64, V) // S₀ᵀk
	for j := range V {
		for i := range K {
			kS[j] += k[i] * h0[i*V+j]
		}
	}
	qk := make([]float64, 0, T*K)
	for range T {
		qk = append(qk, k...)
	}
	want := make([]float64, T*V)
	for i := range T {
		sign := 1.0
		if i%2 == 0 {
			sign = -1
		}
		for j := range V {
			want[i*V+j] = sign * kS[j] / 8 // scale = K^-0.5 = 1/8
		}
	}
	two := make([]float64, T)
	for i := range two {
		two[i] = 2
	}
	for _, chunked := range []bool{false, true} {
		q := upload(t, d, gpu.F32, qk, 1, T, 1, K)
		v := upload(t, d, gpu.F32, make([]float64, T*V), 1, T, 1, V)
		beta := upload(t, d, gpu.F32, two, 1, T, 1)
		o := poisoned(t, d, gpu.F32, 1, T, 1, V)
		state := upload(t, d, gpu.F32, h0, 1, 1, K, V)
		s := stream(t, d)
		var err error
		if chunked {
			err = DeltaRule(s, nil, o, q, q, v, beta, nil, DeltaRuleOptions{InitialState: state, FinalState: state, Form: FormChunked})
		} else {
			err = DeltaRuleRecurrent(s, o, state, q, q, v, beta, nil, DeltaRuleRecurrentOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		checkErr(t, fmt.Sprintf("chunked=%v o", chunked), read(t, o), want, tolF32)
		checkErr(t, fmt.Sprintf("chunked=%v final state", chunked), read(t, state), h0, tolF32) // an even number of reflections
	}
}

// TestDeltaRuleForms checks FormAuto's choice per device class, and the prefill entry point in
// every form without a final state (scratch state) and without a workspace.
func TestDeltaRuleForms(t *testing.T) {
	d := device(t)
	r := newRand(t)
	peer := glaDims{B: 1, T: 512, H: 32, K: 128, V: 128, N: 1, Kp: 128, Vp: 128}
	gpuInfo, cpuInfo := gpu.DeviceInfo{Type: gpu.Discrete}, gpu.DeviceInfo{Type: gpu.CPU}
	if f := deltaPickForm(gpuInfo, FormAuto, peer); f != FormChunked {
		t.Errorf("auto on a GPU: %v, want chunked", f)
	}
	if f := deltaPickForm(cpuInfo, FormAuto, peer); !gpuTilesOnCPU && f != FormRecurrent {
		t.Errorf("auto on a CPU device at the peer shape: %v, want recurrent", f)
	}
	for _, f := range []Form{FormChunked, FormRecurrent} {
		if got := deltaPickForm(cpuInfo, f, peer); got != f {
			t.Errorf("forced %v on a CPU device: %v", f, got)
		}
		if got := deltaPickForm(gpuInfo, f, peer); got != f {
			t.Errorf("forced %v on a GPU: %v", f, got)
		}
	}
	for _, x := range []struct {
		groups, threads int
		delta, want     bool
	}{{1, 2, false, true}, {1, 2, true, true}, {1, 16, false, false}, {5, 16, false, false}, {6, 16, false, true},
		{3, 16, true, false}, {4, 16, true, true}, {64, 16, false, true}} {
		if got := formCrossover(x.groups, x.threads, x.delta); got != x.want {
			t.Errorf("formCrossover(%d groups, %d threads, delta=%v) = %v, want %v", x.groups, x.threads, x.delta, got, x.want)
		}
	}
	c := deltaCase{B: 2, T: 70, H: 2, K: 64, V: 64, gate: 1, h0: true, l2: true}
	in := deltaMake(t, r, c)
	for _, form := range []Form{FormAuto, FormChunked, FormRecurrent} {
		t.Run(form.String(), func(t *testing.T) {
			q := upload(t, d, gpu.F32, in.q, c.B, c.T, c.H, c.K)
			k := upload(t, d, gpu.F32, in.k, c.B, c.T, c.H, c.K)
			v := upload(t, d, gpu.F32, in.v, c.B, c.T, c.H, c.V)
			beta := upload(t, d, gpu.F32, in.beta, c.B, c.T, c.H)
			g := upload(t, d, gpu.F32, in.g, c.B, c.T, c.H)
			h0 := upload(t, d, gpu.F32, in.h0, c.B, c.H, c.K, c.V)
			o := poisoned(t, d, gpu.F32, c.B, c.T, c.H, c.V)
			s := stream(t, d)
			if err := DeltaRule(s, nil, o, q, k, v, beta, g, DeltaRuleOptions{UseQKL2Norm: true, InitialState: h0, Form: form}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "o without final state", read(t, o), in.o, tolF32)
			checkErr(t, "initial state untouched", read(t, h0), in.h0, 0)
		})
	}
}
