package reference_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

func TestRowKnown(t *testing.T) {
	x := []float64{3, 4, 0, -1, 2, 2} // [[3,4,0],[-1,2,2]]
	sum, err := reference.RowSum(x, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum, []float64{7, 3}) {
		t.Fatalf("RowSum = %v, want [7 3]", sum)
	}
	l2, err := reference.L2Norm(x, 2, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "l2norm eps=0", l2, []float64{0.6, 0.8, 0, -1.0 / 3, 2.0 / 3, 2.0 / 3}, 1e-15)
	// mean of squares: 25/3 and 9/3 = 3.
	rms, err := reference.RMSNorm(x, nil, 2, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := math.Sqrt(25.0/3), math.Sqrt(3)
	tcClose(t, "rmsnorm eps=0", rms, []float64{3 / r0, 4 / r0, 0, -1 / r1, 2 / r1, 2 / r1}, 1e-15)
	w := []float64{2, -1, 10}
	rmsw, err := reference.RMSNorm(x, w, 2, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "rmsnorm weight", rmsw, []float64{6 / r0, -4 / r0, 0, -2 / r1, -2 / r1, 20 / r1}, 1e-15)
	// eps enters under the square root: [1] with eps = 3 → 1/sqrt(1+3) = 0.5.
	if got, _ := reference.L2Norm([]float64{1}, 1, 1, 3); got[0] != 0.5 {
		t.Fatalf("L2Norm([1], eps=3) = %v, want 0.5", got)
	}
	if got, _ := reference.RMSNorm([]float64{2, 2}, nil, 1, 2, 12); got[0] != 0.5 {
		t.Fatalf("RMSNorm([2 2], eps=12) = %v, want 0.5", got)
	}
	// A zero row with the default eps stays zero (no NaN).
	if got, _ := reference.L2Norm([]float64{0, 0}, 1, 2, reference.L2NormEps); got[0] != 0 || got[1] != 0 {
		t.Fatalf("L2Norm of zeros = %v", got)
	}
}

// Properties on random rows: unit norm / unit mean square with eps = 0, and
// every row a positive multiple of the input row.
func TestRowRandomProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const R, C = 7, 13
	x := tcRandn(rng, R*C)
	x0 := slices.Clone(x)
	l2, err := reference.L2Norm(x, R, C, 0)
	if err != nil {
		t.Fatal(err)
	}
	rms, err := reference.RMSNorm(x, nil, R, C, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := reference.RowSum(x, R, C)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, x0) {
		t.Fatal("input modified")
	}
	for r := range R {
		var n2, ms, s float64
		for c := range C {
			n2 += l2[r*C+c] * l2[r*C+c]
			ms += rms[r*C+c] * rms[r*C+c] / C
			s += x[r*C+c]
			// rms = sqrt(C) * l2 when eps = 0
			if d := rms[r*C+c] - math.Sqrt(C)*l2[r*C+c]; math.Abs(d) > 1e-14 {
				t.Fatalf("row %d col %d: rms != sqrt(C)*l2 (diff %v)", r, c, d)
			}
		}
		if math.Abs(n2-1) > 1e-14 || math.Abs(ms-1) > 1e-14 {
			t.Fatalf("row %d: Σl2² = %v, mean rms² = %v, want 1", r, n2, ms)
		}
		if math.Abs(sum[r]-s) > 1e-14 {
			t.Fatalf("row %d: RowSum = %v, want %v", r, sum[r], s)
		}
	}
}

func TestRowErrors(t *testing.T) {
	x := make([]float64, 6)
	cases := []struct {
		name string
		f    func() error
	}{
		{"rowsum len", func() error { _, err := reference.RowSum(x, 2, 4); return err }},
		{"rowsum negative", func() error { _, err := reference.RowSum(nil, -1, 0); return err }},
		{"rmsnorm len", func() error { _, err := reference.RMSNorm(x, nil, 4, 2, 1e-6); return err }},
		{"rmsnorm weight", func() error { _, err := reference.RMSNorm(x, []float64{1, 2}, 2, 3, 1e-6); return err }},
		{"rmsnorm eps", func() error { _, err := reference.RMSNorm(x, nil, 2, 3, -1); return err }},
		{"l2norm len", func() error { _, err := reference.L2Norm(x, 1, 5, 1e-6); return err }},
		{"l2norm eps NaN", func() error { _, err := reference.L2Norm(x, 2, 3, math.NaN()); return err }},
	}
	for _, c := range cases {
		tcWantErr(t, c.name, c.f())
	}
}
