package reference_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

func TestEltKnownValues(t *testing.T) {
	ln2 := math.Ln2
	cases := []struct {
		op   string
		x    []float64
		want []float64
		tol  float64
	}{
		{"exp", []float64{0, 1, -1, 2}, []float64{1, math.E, 1 / math.E, math.E * math.E}, 1e-15},
		{"sigmoid", []float64{0, math.Log(3), -math.Log(3), 800, -800}, []float64{0.5, 0.75, 0.25, 1, 0}, 1e-15},
		{"silu", []float64{0, math.Log(3), -math.Log(3), 800, -800}, []float64{0, 0.75 * math.Log(3), -0.25 * math.Log(3), 800, 0}, 1e-15},
		// softplus(log(e^a − 1)) = a; threshold: x > 20 returns x exactly.
		{"softplus", []float64{0, math.Log(math.E - 1), math.Log(math.Expm1(3)), 21, 1000, -800},
			[]float64{ln2, 1, 3, 21, 1000, 0}, 1e-15},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			in := slices.Clone(c.x)
			got, err := reference.Unary(c.op, c.x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(in, c.x) {
				t.Fatal("input modified")
			}
			for i := range got {
				if math.IsNaN(got[i]) || math.Abs(got[i]-c.want[i]) > c.tol*(1+math.Abs(c.want[i])) {
					t.Fatalf("%s(%v) = %v, want %v", c.op, c.x[i], got[i], c.want[i])
				}
			}
		})
	}
	// Softplus just at and above the threshold, and far below it (no underflow
	// to 0 where exp(x) is still representable).
	sp := reference.Softplus([]float64{20, 20.5, -50})
	if want := math.Log(1 + math.Exp(20)); math.Abs(sp[0]-want) > 1e-14*want || sp[0] == 20 {
		t.Fatalf("softplus(20) = %v, want log1p(exp(20)) = %v", sp[0], want)
	}
	if sp[1] != 20.5 {
		t.Fatalf("softplus(20.5) = %v, want 20.5 (threshold)", sp[1])
	}
	if want := math.Exp(-50); math.Abs(sp[2]-want) > 1e-12*want {
		t.Fatalf("softplus(-50) = %v, want ≈ %v", sp[2], want)
	}
}

// Identities that tie the functions together, on random inputs.
func TestEltIdentities(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := tcUniform(rng, 200, -15, 15)
	neg := reference.Scale(x, -1)
	sig, sigNeg := reference.Sigmoid(x), reference.Sigmoid(neg)
	silu, sp, spNeg := reference.SiLU(x), reference.Softplus(x), reference.Softplus(neg)
	e := reference.Exp(x)
	for i, v := range x {
		if d := sig[i] + sigNeg[i] - 1; math.Abs(d) > 1e-15 {
			t.Fatalf("sigmoid(x)+sigmoid(-x)-1 = %v at x=%v", d, v)
		}
		if want := v / (1 + math.Exp(-v)); math.Abs(silu[i]-want) > 1e-14*(1+math.Abs(want)) {
			t.Fatalf("silu(%v) = %v, want %v", v, silu[i], want)
		}
		if d := sp[i] - spNeg[i] - v; math.Abs(d) > 1e-13 {
			t.Fatalf("softplus(x)-softplus(-x)-x = %v at x=%v", d, v)
		}
		if want := math.Log(1 + e[i]); math.Abs(sp[i]-want) > 1e-12*(1+want) {
			t.Fatalf("softplus(%v) = %v, want log(1+exp(x)) = %v", v, sp[i], want)
		}
	}
}

func TestEltDispatchMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := tcRandn(rng, 33)
	y := tcRandn(rng, 33)
	direct := map[string]func([]float64) []float64{
		"exp": reference.Exp, "gelu": reference.GELU, "sigmoid": reference.Sigmoid, "silu": reference.SiLU, "softplus": reference.Softplus,
	}
	if got := reference.UnaryOps(); !slices.Equal(got, []string{"exp", "gelu", "sigmoid", "silu", "softplus"}) {
		t.Fatalf("UnaryOps = %v", got)
	}
	for _, op := range reference.UnaryOps() {
		got, err := reference.Unary(op, x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, direct[op](x)) {
			t.Fatalf("Unary(%q) differs from the direct function", op)
		}
	}
	sum, err := reference.Add(x, y)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := reference.Mul(x, y)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if sum[i] != x[i]+y[i] || prod[i] != x[i]*y[i] {
			t.Fatalf("add/mul wrong at %d", i)
		}
	}
	if b, _ := reference.Binary("add", x, y); !slices.Equal(b, sum) {
		t.Fatal(`Binary("add") differs from Add`)
	}
	if b, _ := reference.Binary("mul", x, y); !slices.Equal(b, prod) {
		t.Fatal(`Binary("mul") differs from Mul`)
	}
	if s := reference.Scale([]float64{1, -2, 0.5}, 3); !slices.Equal(s, []float64{3, -6, 1.5}) {
		t.Fatalf("Scale = %v", s)
	}
	if e, _ := reference.Unary("exp", nil); len(e) != 0 {
		t.Fatalf("Unary on empty input = %v", e)
	}
}

func TestEltErrors(t *testing.T) {
	cases := []struct {
		name string
		f    func() error
	}{
		{"unknown unary", func() error { _, err := reference.Unary("tanh", []float64{1}); return err }},
		{"unknown binary", func() error { _, err := reference.Binary("pow", []float64{1}, []float64{1}); return err }},
		{"add len", func() error { _, err := reference.Add([]float64{1, 2}, []float64{1}); return err }},
		{"mul len", func() error { _, err := reference.Mul(nil, []float64{1}); return err }},
	}
	for _, c := range cases {
		tcWantErr(t, c.name, c.f())
	}
}
