package suite

import (
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// TestEltwiseTails: lone elements in the far tails, where the exact result is below float32's
// normal range (gelu(−20), exp(−100)) or large, verify within tolerance; a wrong value does not.
func TestEltwiseTails(t *testing.T) {
	d := openDevice(t)
	for _, c := range []struct {
		fn string
		x  float64
	}{{"gelu", -20}, {"gelu", -30}, {"gelu", -12}, {"gelu", 25}, {"exp", -100}, {"silu", -120}, {"sigmoid", -95}} {
		want, err := refElt(c.fn, []float64{c.x}, []float64{0}, 1)
		if err != nil {
			t.Fatal(err)
		}
		e, err := runElt(d, c.fn, []float64{c.x}, []float64{0}, 1, want)
		if err != nil {
			t.Fatal(err)
		}
		if !(e <= 1e-5) {
			t.Errorf("%s(%g): rel err %.3g against %g, want ≤ 1e-5", c.fn, c.x, e, want[0])
		}
	}
	// The comparison still catches a wrong result: gelu(−12) ≈ −2.1e-32 is representable.
	if e := reference.RelErr([]float32{0}, representable32([]float64{-2.1e-32})); e != 1 {
		t.Errorf("a zero result against −2.1e-32 gives rel err %g, want 1", e)
	}
}
