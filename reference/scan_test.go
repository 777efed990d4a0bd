package reference_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// Helpers shared by scan_test.go, ssd_test.go and conv1d_test.go (prefix sk).

func skRandn(rng *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = scale * rng.NormFloat64()
	}
	return x
}

func skUniform(rng *rand.Rand, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*rng.Float64()
	}
	return x
}

// skRelErr is ‖got − want‖ / ‖want‖ (‖got − want‖ when want is 0), +Inf on a
// length mismatch or a NaN.
func skRelErr(got, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range got {
		d := got[i] - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if math.IsNaN(num) || math.IsNaN(den) {
		return math.Inf(1)
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func skClose(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if e := skRelErr(got, want); !(e <= tol) {
		t.Errorf("%s: relative error %.3g > %.1g (len got %d, want %d)", name, e, tol, len(got), len(want))
	}
}

// skExact compares element by element with an absolute tolerance.
func skExact(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", name, len(got), len(want))
	}
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol) {
			t.Errorf("%s[%d] = %.17g, want %.17g", name, i, got[i], want[i])
		}
	}
}

// skWantErr checks that err is non-nil and mentions every word.
func skWantErr(t *testing.T, name string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", name)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", name, err, w)
		}
	}
}

func skSiLU(x float64) float64 { return x / (1 + math.Exp(-x)) }

// skScanInput makes a random selective-scan problem with every option on.
func skScanInput(rng *rand.Rand, bs, dim, l, n, g int) reference.SelectiveScanInput {
	return reference.SelectiveScanInput{
		Batch: bs, Dim: dim, Len: l, DState: n, Groups: g,
		U:             skRandn(rng, bs*dim*l, 1),
		Delta:         skRandn(rng, bs*dim*l, 1),
		A:             skUniform(rng, dim*n, -2, -0.1),
		B:             skRandn(rng, bs*g*n*l, 1),
		C:             skRandn(rng, bs*g*n*l, 1),
		D:             skRandn(rng, dim, 1),
		Z:             skRandn(rng, bs*dim*l, 1),
		DeltaBias:     skRandn(rng, dim, 0.5),
		DeltaSoftplus: true,
		InitialState:  skRandn(rng, bs*dim*n, 1),
	}
}

func TestSelectiveScanHandCase(t *testing.T) {
	// D=1, N=1, L=2: x0 = 1, y0 = 2*1 + 0.5*1; x1 = e^-1 + 0.5*3*2, y1 = -x1 + 0.5*2.
	in := reference.SelectiveScanInput{
		Batch: 1, Dim: 1, Len: 2, DState: 1,
		U: []float64{1, 2}, Delta: []float64{1, 0.5}, A: []float64{-2},
		B: []float64{1, 3}, C: []float64{2, -1}, D: []float64{0.5},
	}
	out, last, err := reference.SelectiveScan(in)
	if err != nil {
		t.Fatal(err)
	}
	x1 := math.Exp(-1) + 3
	skExact(t, "out", out, []float64{2.5, -x1 + 1}, 1e-15)
	skExact(t, "last", last, []float64{x1}, 1e-15)

	in.Z = []float64{0, 1}
	out, _, err = reference.SelectiveScan(in)
	if err != nil {
		t.Fatal(err)
	}
	skExact(t, "out with z", out, []float64{0, (-x1 + 1) / (1 + math.Exp(-1))}, 1e-15)
}

func TestSelectiveScanSoftplus(t *testing.T) {
	// A = 0, B = C = u = 1: y_t is the running sum of dt, so dt is read off.
	in := reference.SelectiveScanInput{
		Batch: 1, Dim: 1, Len: 4, DState: 1,
		U: []float64{1, 1, 1, 1}, Delta: []float64{-31, 24, 19.5, 0}, A: []float64{0},
		B: []float64{1, 1, 1, 1}, C: []float64{1, 1, 1, 1},
		DeltaBias: []float64{1}, DeltaSoftplus: true,
	}
	out, _, err := reference.SelectiveScan(in)
	if err != nil {
		t.Fatal(err)
	}
	// softplus(-30) = log1p(e^-30), softplus(25) = 25 (above the threshold),
	// softplus(20.5) = 20.5, softplus(1) = ln(1+e).
	dts := []float64{math.Log1p(math.Exp(-30)), 25, 20.5, math.Log(1 + math.E)}
	var want []float64
	sum := 0.0
	for _, d := range dts {
		sum += d
		want = append(want, sum)
	}
	skExact(t, "cumulative dt", out, want, 1e-13)
	if math.Abs(out[0]/math.Exp(-30)-1) > 1e-12 {
		t.Errorf("softplus(-30) = %g, want about e^-30 = %g", out[0], math.Exp(-30))
	}
	// Without softplus dt is delta + bias itself, negative values included.
	in.DeltaSoftplus = false
	out, _, err = reference.SelectiveScan(in)
	if err != nil {
		t.Fatal(err)
	}
	skExact(t, "raw dt", out, []float64{-30, -5, 15.5, 16.5}, 1e-13)
}

// skScanQuadratic evaluates the scan in closed form:
//
//	x_t[n] = exp(A[d,n] Σ_{r≤t} dt_r) x0[n] + Σ_{s≤t} exp(A[d,n] Σ_{s<r≤t} dt_r) dt_s B_s[n] u_s
//	out_t  = (C_t · x_t + D u_t) silu(z_t)
func skScanQuadratic(in reference.SelectiveScanInput) (out, last []float64) {
	bs, dim, l, n, g := in.Batch, in.Dim, in.Len, in.DState, in.Groups
	out = make([]float64, bs*dim*l)
	last = make([]float64, bs*dim*n)
	for b := 0; b < bs; b++ {
		for d := 0; d < dim; d++ {
			grp := d / (dim / g)
			dt := make([]float64, l)
			cum := make([]float64, l+1) // cum[t+1] = Σ_{r≤t} dt_r
			for t := 0; t < l; t++ {
				v := in.Delta[(b*dim+d)*l+t] + in.DeltaBias[d]
				if in.DeltaSoftplus {
					if v <= 20 {
						v = math.Log1p(math.Exp(v))
					}
				}
				dt[t] = v
				cum[t+1] = cum[t] + v
			}
			bAt := func(k, t int) float64 { return in.B[((b*g+grp)*n+k)*l+t] }
			cAt := func(k, t int) float64 { return in.C[((b*g+grp)*n+k)*l+t] }
			u := func(t int) float64 { return in.U[(b*dim+d)*l+t] }
			state := func(k, t int) float64 {
				a := in.A[d*n+k]
				v := math.Exp(a*cum[t+1]) * in.InitialState[(b*dim+d)*n+k]
				for s := 0; s <= t; s++ {
					v += math.Exp(a*(cum[t+1]-cum[s+1])) * dt[s] * bAt(k, s) * u(s)
				}
				return v
			}
			for t := 0; t < l; t++ {
				y := in.D[d] * u(t)
				for k := 0; k < n; k++ {
					y += cAt(k, t) * state(k, t)
				}
				out[(b*dim+d)*l+t] = y * skSiLU(in.Z[(b*dim+d)*l+t])
			}
			for k := 0; k < n; k++ {
				last[(b*dim+d)*n+k] = state(k, l-1)
			}
		}
	}
	return out, last
}

func TestSelectiveScanQuadraticForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ bs, dim, l, n, g int }{
		{1, 1, 1, 1, 1}, {2, 4, 9, 3, 1}, {1, 6, 17, 4, 2}, {2, 6, 12, 5, 3}, {1, 4, 8, 2, 4},
	} {
		in := skScanInput(rng, c.bs, c.dim, c.l, c.n, c.g)
		keep := in.U[0]
		out, last, err := reference.SelectiveScan(in)
		if err != nil {
			t.Fatal(err)
		}
		wantOut, wantLast := skScanQuadratic(in)
		skClose(t, "out", out, wantOut, 1e-12)
		skClose(t, "last_state", last, wantLast, 1e-12)
		if in.U[0] != keep {
			t.Fatal("input modified")
		}
	}
}

func TestSelectiveScanGroupsMatchPerChannel(t *testing.T) {
	// With Groups = G, channel d must see group d/(D/G): run each channel on
	// its own (D = 1, G = 1) with that group's B and C and compare.
	rng := rand.New(rand.NewPCG(3, 4))
	bs, dim, l, n, g := 2, 6, 7, 3, 3
	in := skScanInput(rng, bs, dim, l, n, g)
	out, last, err := reference.SelectiveScan(in)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < bs; b++ {
		for d := 0; d < dim; d++ {
			grp := d / (dim / g)
			row := (b*dim + d) * l
			one := reference.SelectiveScanInput{
				Batch: 1, Dim: 1, Len: l, DState: n,
				U: in.U[row : row+l], Delta: in.Delta[row : row+l], A: in.A[d*n : (d+1)*n],
				B: in.B[(b*g+grp)*n*l : (b*g+grp+1)*n*l], C: in.C[(b*g+grp)*n*l : (b*g+grp+1)*n*l],
				D: in.D[d : d+1], Z: in.Z[row : row+l], DeltaBias: in.DeltaBias[d : d+1],
				DeltaSoftplus: true, InitialState: in.InitialState[(b*dim+d)*n : (b*dim+d+1)*n],
			}
			o, s, err := reference.SelectiveScan(one)
			if err != nil {
				t.Fatal(err)
			}
			skExact(t, "channel out", out[row:row+l], o, 0)
			skExact(t, "channel state", last[(b*dim+d)*n:(b*dim+d+1)*n], s, 0)
		}
	}
}

// skScanSlice returns the time steps [t0, t1) of a scan problem.
func skScanSlice(in reference.SelectiveScanInput, t0, t1 int) reference.SelectiveScanInput {
	cut := func(x []float64, rows int) []float64 {
		var y []float64
		for r := 0; r < rows; r++ {
			y = append(y, x[r*in.Len+t0:r*in.Len+t1]...)
		}
		return y
	}
	out := in
	out.Len = t1 - t0
	rowsBD := in.Batch * in.Dim
	rowsBC := in.Batch * in.Groups * in.DState
	out.U, out.Delta, out.Z = cut(in.U, rowsBD), cut(in.Delta, rowsBD), cut(in.Z, rowsBD)
	out.B, out.C = cut(in.B, rowsBC), cut(in.C, rowsBC)
	return out
}

func TestSelectiveScanChaining(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	in := skScanInput(rng, 2, 4, 13, 3, 2)
	full, fullLast, err := reference.SelectiveScan(in)
	if err != nil {
		t.Fatal(err)
	}
	first := skScanSlice(in, 0, 5)
	o1, s1, err := reference.SelectiveScan(first)
	if err != nil {
		t.Fatal(err)
	}
	second := skScanSlice(in, 5, 13)
	second.InitialState = s1
	o2, s2, err := reference.SelectiveScan(second)
	if err != nil {
		t.Fatal(err)
	}
	skClose(t, "last state", s2, fullLast, 1e-14)
	for r := 0; r < in.Batch*in.Dim; r++ {
		skClose(t, "first part", o1[r*5:(r+1)*5], full[r*13:r*13+5], 1e-14)
		skClose(t, "second part", o2[r*8:(r+1)*8], full[r*13+5:(r+1)*13], 1e-14)
	}
	// Len = 0 returns the initial state.
	empty := skScanSlice(in, 0, 0)
	o0, s0, err := reference.SelectiveScan(empty)
	if err != nil || len(o0) != 0 {
		t.Fatalf("Len 0: %v, %d outputs", err, len(o0))
	}
	skExact(t, "Len 0 state", s0, in.InitialState, 0)
}

func TestSelectiveStateUpdateMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ bs, dim, l, n, g int }{{1, 2, 5, 3, 1}, {2, 6, 6, 4, 3}} {
		in := skScanInput(rng, c.bs, c.dim, c.l, c.n, c.g)
		full, fullLast, err := reference.SelectiveScan(in)
		if err != nil {
			t.Fatal(err)
		}
		state := slices.Clone(in.InitialState)
		for tk := 0; tk < c.l; tk++ {
			col := func(x []float64, rows int) []float64 {
				y := make([]float64, rows)
				for r := range y {
					y[r] = x[r*c.l+tk]
				}
				return y
			}
			step := reference.SelectiveStateUpdateInput{
				Batch: c.bs, Dim: c.dim, DState: c.n, Groups: c.g,
				State: state, X: col(in.U, c.bs*c.dim), Dt: col(in.Delta, c.bs*c.dim), A: in.A,
				B: col(in.B, c.bs*c.g*c.n), C: col(in.C, c.bs*c.g*c.n),
				D: in.D, Z: col(in.Z, c.bs*c.dim), DtBias: in.DeltaBias, DtSoftplus: true,
			}
			before := slices.Clone(state)
			out, next, err := reference.SelectiveStateUpdate(step)
			if err != nil {
				t.Fatal(err)
			}
			skExact(t, "state not modified", state, before, 0)
			skClose(t, "step out", out, col(full, c.bs*c.dim), 1e-14)
			state = next
		}
		skClose(t, "final state", state, fullLast, 1e-14)
	}
}

func TestSelectiveScanErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	good := skScanInput(rng, 1, 4, 3, 2, 2)
	if _, _, err := reference.SelectiveScan(good); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(*reference.SelectiveScanInput)
		words []string
	}{
		{"short u", func(in *reference.SelectiveScanInput) { in.U = in.U[1:] }, []string{"u", "[B,D,L]"}},
		{"nil delta", func(in *reference.SelectiveScanInput) { in.Delta = nil }, []string{"delta"}},
		{"A", func(in *reference.SelectiveScanInput) { in.A = in.A[:3] }, []string{"A", "[D,N]"}},
		{"B", func(in *reference.SelectiveScanInput) { in.B = append(in.B, 1) }, []string{"B", "[B,G,N,L]"}},
		{"C", func(in *reference.SelectiveScanInput) { in.C = in.C[2:] }, []string{"C"}},
		{"D", func(in *reference.SelectiveScanInput) { in.D = []float64{1} }, []string{"D", "optional"}},
		{"z", func(in *reference.SelectiveScanInput) { in.Z = []float64{} }, []string{"z"}},
		{"delta_bias", func(in *reference.SelectiveScanInput) { in.DeltaBias = in.DeltaBias[1:] }, []string{"delta_bias"}},
		{"initial_state", func(in *reference.SelectiveScanInput) { in.InitialState = in.InitialState[1:] }, []string{"initial_state"}},
		{"groups", func(in *reference.SelectiveScanInput) { in.Groups = 3 }, []string{"Groups", "Dim"}},
		{"negative groups", func(in *reference.SelectiveScanInput) { in.Groups = -1 }, []string{"Groups"}},
		{"negative len", func(in *reference.SelectiveScanInput) { in.Len = -1 }, []string{"Len"}},
	}
	for _, c := range cases {
		in := good
		c.edit(&in)
		_, _, err := reference.SelectiveScan(in)
		skWantErr(t, c.name, err, c.words...)
	}
	step := reference.SelectiveStateUpdateInput{Batch: 1, Dim: 2, DState: 2,
		State: make([]float64, 4), X: make([]float64, 2), Dt: make([]float64, 2), A: make([]float64, 4),
		B: make([]float64, 2), C: make([]float64, 3)}
	_, _, err := reference.SelectiveStateUpdate(step)
	skWantErr(t, "step C", err, "C", "[B,G,N]")
	step.C = make([]float64, 2)
	step.State = nil
	_, _, err = reference.SelectiveStateUpdate(step)
	skWantErr(t, "step state", err, "state")
}
