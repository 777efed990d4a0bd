package suite

import (
	"context"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

// TestRunGLA runs the gla op on its example through Run, in both forms, and compares o and
// final_state with the float64 reference.
func TestRunGLA(t *testing.T) {
	d := openDevice(t)
	op, ok := Lookup("gla")
	if !ok {
		t.Fatal("gla not registered")
	}
	ts, p := op.Example()
	f, err := ExampleFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) tensorio.Tensor {
		x, ok := f.Get(name)
		if !ok {
			t.Fatalf("example lacks %s", name)
		}
		return x
	}
	q, k, v, g, h0, cu := get("q"), get("k"), get("v"), get("g"), get("initial_state"), get("cu_seqlens")
	sc := 0.5
	s := reference.LinearAttnShape{B: q.Shape[0], T: q.Shape[1], H: q.Shape[2], K: q.Shape[3], V: v.Shape[3]}
	wantO, wantFin, err := reference.GLA(reference.ToFloat64(q.F32), reference.ToFloat64(k.F32), reference.ToFloat64(v.F32),
		reference.ToFloat64(g.F32), s, reference.GLAOptions{Scale: &sc, InitialState: reference.ToFloat64(h0.F32), CuSeqlens: cu.I32})
	if err != nil {
		t.Fatal(err)
	}
	checkForms(t, d, op, f, p, wantO, wantFin)
}

// checkForms runs op through Run with form=chunked, form=recurrent and form=auto (plus the example's
// parameters p), compares o and final_state with the float64 want (≤ 1e-5), and checks that an
// unknown form is refused.
func checkForms(t *testing.T, d *gpu.Device, op Op, f *tensorio.File, p Params, wantO, wantFin []float64) {
	t.Helper()
	for _, form := range []string{"chunked", "recurrent", "auto"} {
		pp := Params{"form": form}
		for key, val := range p {
			pp[key] = val
		}
		out, err := op.Run(context.Background(), d, f, pp)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		if len(out) != 2 || out[0].Name != "o" || out[1].Name != "final_state" {
			t.Fatalf("%s: outputs %v", form, out)
		}
		for i, want := range [][]float64{wantO, wantFin} {
			if e := reference.RelErr(out[i].F32, want); !(e <= 1e-5) {
				t.Errorf("%s %s: relative error %g", form, out[i].Name, e)
			} else {
				t.Logf("%s %s: relative error %.2g", form, out[i].Name, e)
			}
		}
	}
	if _, err := op.Run(context.Background(), d, f, Params{"form": "sideways"}); err == nil {
		t.Error("form=sideways accepted")
	}
}
