package ops

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestEltwise(t *testing.T) {
	d := device(t)
	r := newRand(t)
	sizes := [][]int{{1}, {3}, {4}, {1000}, {7, 13}, {2, 3, 1024}, {65537}}
	scales := []float64{1, 30} // 30: large inputs reach the softplus threshold and saturate sigmoid
	for _, shape := range sizes {
		n := 1
		for _, s := range shape {
			n *= s
		}
		for _, sc := range scales {
			// Inputs below -80 would put exp, sigmoid, silu and softplus results among float32's
			// denormals, which devices may flush to zero (see Unary): keep the expected values normal.
			x := rounded(clampBelow(randn(r, n, sc), -80))
			y := rounded(randn(r, n, sc))
			for _, op := range []string{"add", "mul", "scale", "exp", "silu", "sigmoid", "softplus", "gelu"} {
				t.Run(fmt.Sprintf("%s_%v_x%g", op, shape, sc), func(t *testing.T) {
					xin := x
					if op == "exp" {
						xin = rounded(randn(r, n, 3)) // keep e^x finite in float32
					}
					xt := upload(t, d, gpu.F32, xin, shape...)
					yt := upload(t, d, gpu.F32, y, shape...)
					out := poisoned(t, d, gpu.F32, shape...)
					s := stream(t, d)
					var want []float64
					var err error
					switch op {
					case "add", "mul":
						want, _ = reference.Binary(op, xin, y)
						if op == "add" {
							err = Add(s, out, xt, yt)
						} else {
							err = Mul(s, out, xt, yt)
						}
					case "scale":
						want = reference.Scale(xin, -1.5)
						err = Scale(s, out, xt, -1.5)
					default:
						// gelu decays like a Gaussian: below about −13 its value is under float32's
						// smallest normal number even where the input is not; count those as 0.
						want, _ = reference.Unary(op, xin)
						want = flushSubnormal(want)
						u, perr := ParseUnaryOp(op)
						if perr != nil {
							t.Fatal(perr)
						}
						err = Unary(s, out, xt, u)
					}
					if err != nil {
						t.Fatal(err)
					}
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					checkErr(t, op, read(t, out), want, tolF32)
				})
			}
		}
	}
}

func TestEltwiseInPlace(t *testing.T) {
	d := device(t)
	r := newRand(t)
	x := rounded(randn(r, 999, 2))
	xt := upload(t, d, gpu.F32, x, 999)
	s := stream(t, d)
	if err := Unary(s, xt, xt, SiLU); err != nil {
		t.Fatal(err)
	}
	if err := Scale(s, xt, xt, 2); err != nil { // depends on the first: the stream must order them
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	want := reference.Scale(reference.SiLU(x), 2)
	checkErr(t, "silu then scale in place", read(t, xt), want, tolF32)
}

func TestEltwiseErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	a := poisoned(t, d, gpu.F32, 4, 4)
	b := poisoned(t, d, gpu.F32, 4, 5)
	h := poisoned(t, d, gpu.F16, 4, 4)
	for name, err := range map[string]error{
		"shape":   Add(s, a, a, b),
		"out":     Mul(s, b, a, a),
		"dtype":   Scale(s, h, a, 1),
		"nil":     Add(s, a, nil, a),
		"unknown": Unary(s, a, a, UnaryOp(99)),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
	if _, err := ParseUnaryOp("tanh"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("ParseUnaryOp(tanh): %v", err)
	}
}

func clampBelow(x []float64, lo float64) []float64 {
	for i := range x {
		x[i] = max(x[i], lo)
	}
	return x
}

// TestUnaryGrid checks every unary function element by element on a dense grid of inputs, so that
// an inaccurate range (like log(1+u) for small u through the driver's log) cannot hide in the
// norm of a large random vector.
func TestUnaryGrid(t *testing.T) {
	d := device(t)
	var x []float64
	for v := -80.0; v <= 40; v += 0.0137 {
		x = append(x, v)
	}
	x = rounded(x)
	n := len(x)
	xt := upload(t, d, gpu.F32, x, n)
	for _, op := range []UnaryOp{Exp, SiLU, Sigmoid, Softplus} {
		out := poisoned(t, d, gpu.F32, n)
		s := stream(t, d)
		if err := Unary(s, out, xt, op); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		got := read(t, out)
		want, err := reference.Unary(op.String(), x)
		if err != nil {
			t.Fatal(err)
		}
		// exp evaluated as exp2(x·log2 e) in float32 loses about |x| ulps: allow for it.
		worst, at := 0.0, 0
		for i := range x {
			e := math.Abs(float64(got[i])-want[i]) / math.Abs(want[i]) / (2e-6 + 1e-7*math.Abs(x[i]))
			if !(e <= worst) {
				worst, at = e, i
			}
		}
		if !(worst <= 1) {
			t.Errorf("%v: relative error %.3g × (2e-6 + 1e-7|x|) at x = %v (got %v, want %v)", op, worst, x[at], got[at], want[at])
		} else {
			t.Logf("%v: worst relative error %.3g × (2e-6 + 1e-7|x|) at x = %v", op, worst, x[at])
		}
	}
}

// TestGELUElementwise checks every element of GELU on a grid over [−13.5, 9] (step 1/128, the far
// negative tail included, where x·Φ(x) falls to 1e-38) and at ±0, ±inf and the first values past
// the tail cut: each element's relative error ≤ 2e-6 where the float64 value is a normal float32
// (the L2 error of a large random input hides a tail element's error; verify's N = 1 does not).
func TestGELUElementwise(t *testing.T) {
	d := device(t)
	var x []float64
	for i := -13.5 * 128; i <= 9*128; i++ {
		x = append(x, i/128)
	}
	x = append(x, 0, math.Copysign(0, -1), 14.5, -14.5, -20, 30)
	xt := upload(t, d, gpu.F32, x, len(x))
	out := poisoned(t, d, gpu.F32, len(x))
	s := stream(t, d)
	if err := Unary(s, out, xt, GELU); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	got := read(t, out)
	want, _ := reference.Unary("gelu", x)
	worst, at := 0.0, 0.0
	for i, w := range want {
		if math.Abs(w) < 0x1p-126 {
			if math.Abs(float64(got[i])) > 0x1p-120 {
				t.Errorf("gelu(%g) = %g, want %g (below float32's normal range)", x[i], got[i], w)
			}
			continue
		}
		if e := math.Abs(float64(got[i])-w) / math.Abs(w); !(e <= worst) {
			worst, at = e, x[i]
		}
	}
	t.Logf("worst relative error %.3g at x = %g", worst, at)
	if !(worst <= 2e-6) {
		t.Errorf("gelu: worst element relative error %.3g at x = %g, want ≤ 2e-6", worst, at)
	}
	inf := []float64{math.Inf(1), math.Inf(-1)}
	it := upload(t, d, gpu.F32, inf, 2)
	io := poisoned(t, d, gpu.F32, 2)
	if err := Unary(s, io, it, GELU); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if g := read(t, io); !math.IsInf(float64(g[0]), 1) {
		t.Errorf("gelu(+inf) = %g, want +inf", g[0])
	}
}
