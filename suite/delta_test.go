package suite

import (
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// TestRunDelta runs the delta_rule op on its example (gated, L2 norms, initial state, two
// sequences) through Run, in both forms, and compares o and final_state with the float64
// reference.
func TestRunDelta(t *testing.T) {
	d := openDevice(t)
	op, ok := Lookup("delta_rule")
	if !ok {
		t.Fatal("delta_rule not registered")
	}
	ts, p := op.Example()
	f, err := ExampleFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) []float64 {
		x, ok := f.Get(name)
		if !ok {
			t.Fatalf("example lacks %s", name)
		}
		return reference.ToFloat64(x.F32)
	}
	qt, _ := f.Get("q")
	vt, _ := f.Get("v")
	cu, _ := f.Get("cu_seqlens")
	sc := 0.5
	s := reference.LinearAttnShape{B: qt.Shape[0], T: qt.Shape[1], H: qt.Shape[2], K: qt.Shape[3], V: vt.Shape[3]}
	wantO, wantFin, err := reference.DeltaRule(get("q"), get("k"), get("v"), get("beta"), s,
		reference.DeltaOptions{Scale: &sc, G: get("g"), UseQKL2Norm: true, InitialState: get("initial_state"), CuSeqlens: cu.I32})
	if err != nil {
		t.Fatal(err)
	}
	checkForms(t, d, op, f, p, wantO, wantFin)
}
