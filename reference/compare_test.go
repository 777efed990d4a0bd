package reference_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// Shared helpers for this package's tests (prefixed tc to keep clear of the
// helpers of other test files in the package).

// tcRandn returns n standard normal values.
func tcRandn(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

// tcUniform returns n values uniform in [lo, hi).
func tcUniform(rng *rand.Rand, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*rng.Float64()
	}
	return x
}

// tcClose fails the test when RelErr64(got, want) > tol.
func tcClose(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len = %d, want %d", name, len(got), len(want))
	}
	if e := reference.RelErr64(got, want); !(e <= tol) {
		t.Fatalf("%s: relative error %.3g > %.3g\n got  %v\n want %v", name, e, tol, tcHead(got), tcHead(want))
	}
}

func tcHead(x []float64) []float64 {
	if len(x) > 8 {
		return x[:8]
	}
	return x
}

// tcWantErr fails the test unless err is non-nil, and logs the message so
// that its wording can be reviewed with -v.
func tcWantErr(t *testing.T, name string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want an error, got nil", name)
	}
	t.Logf("%s: %v", name, err)
}

func TestRelErr(t *testing.T) {
	nan32 := float32(math.NaN())
	inf32 := float32(math.Inf(1))
	cases := []struct {
		name string
		out  []float32
		ref  []float64
		want float64
	}{
		{"equal", []float32{1, 2, 3}, []float64{1, 2, 3}, 0},
		{"empty", nil, nil, 0},
		{"3-4-5", []float32{3, 4}, []float64{0, 0}, 5},  // ‖ref‖ = 0 → ‖out‖
		{"half", []float32{1, 1}, []float64{2, 2}, 0.5}, // ‖(-1,-1)‖/‖(2,2)‖
		{"one-off", []float32{3, 0, 4}, []float64{3, 1, 4}, 1 / math.Sqrt(26)},
		{"nan", []float32{1, nan32}, []float64{1, 2}, math.Inf(1)},
		{"inf", []float32{inf32, 1}, []float64{1, 2}, math.Inf(1)},
		{"nan-ref", []float32{1, 2}, []float64{1, math.NaN()}, math.Inf(1)},
		{"len", []float32{1, 2}, []float64{1, 2, 3}, math.Inf(1)},
		{"zero-ref-zero-out", []float32{0, 0}, []float64{0, 0}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := reference.RelErr(c.out, c.ref)
			if math.IsInf(c.want, 1) {
				if !math.IsInf(got, 1) {
					t.Fatalf("RelErr = %v, want +Inf", got)
				}
				return
			}
			if math.Abs(got-c.want) > 1e-7*(1+c.want) {
				t.Fatalf("RelErr = %v, want %v", got, c.want)
			}
			if got64 := reference.RelErr64(reference.ToFloat64(c.out), c.ref); math.Abs(got64-got) > 1e-15 {
				t.Fatalf("RelErr64 = %v, RelErr = %v", got64, got)
			}
		})
	}
	// A NaN result must never pass a tolerance check.
	if e := reference.RelErr([]float32{nan32}, []float64{0}); e <= 1e-5 {
		t.Fatalf("NaN output passes: RelErr = %v", e)
	}
	// Large values do not overflow.
	if e := reference.RelErr64([]float64{2e200, 0}, []float64{1e200, 0}); math.Abs(e-1) > 1e-12 {
		t.Fatalf("RelErr64 with large values = %v, want 1", e)
	}
}

func TestCompareMaxAbsErr(t *testing.T) {
	if got := reference.MaxAbsErr([]float32{1, -2, 3}, []float64{1.5, -2, 0}); got != 3 {
		t.Fatalf("MaxAbsErr = %v, want 3", got)
	}
	if got := reference.MaxAbsErr64([]float64{1, 2}, []float64{1, 2.25}); got != 0.25 {
		t.Fatalf("MaxAbsErr64 = %v, want 0.25", got)
	}
	if got := reference.MaxAbsErr([]float32{float32(math.NaN())}, []float64{1}); !math.IsInf(got, 1) {
		t.Fatalf("MaxAbsErr(NaN) = %v, want +Inf", got)
	}
	if got := reference.MaxAbsErr([]float32{1}, []float64{1, 2}); !math.IsInf(got, 1) {
		t.Fatalf("MaxAbsErr(len mismatch) = %v, want +Inf", got)
	}
}

func TestCompareConvert(t *testing.T) {
	x := []float64{0, 1.5, -2.25, 1e-3, 1e300}
	f := reference.ToFloat32(x)
	if f[1] != 1.5 || f[2] != -2.25 || f[3] != float32(1e-3) || !math.IsInf(float64(f[4]), 1) {
		t.Fatalf("ToFloat32 = %v", f)
	}
	back := reference.ToFloat64(f[:4])
	for i, v := range back {
		if v != float64(float32(x[i])) {
			t.Fatalf("ToFloat64[%d] = %v, want %v", i, v, float64(float32(x[i])))
		}
	}
	// The input is not aliased.
	f[0] = 7
	if x[0] != 0 || back[0] != 0 {
		t.Fatal("conversion aliases its input")
	}
}

// tcPtr returns a pointer to a copy of x (for the Scale options).
func tcPtr(x float64) *float64 { return &x }
