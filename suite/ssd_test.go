package suite

import (
	"context"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// TestRunSSD runs the ssd op on its example through Run in each form (auto, chunked, recurrent),
// compares out and final_states with the float64 reference, and checks that an unknown form is
// refused.
func TestRunSSD(t *testing.T) {
	d := openDevice(t)
	op, ok := Lookup("ssd")
	if !ok {
		t.Fatal("ssd not registered")
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
	x, _ := f.Get("x")
	bm, _ := f.Get("B")
	in := reference.SSDInput{Batch: x.Shape[0], Len: x.Shape[1], Heads: x.Shape[2], HeadDim: x.Shape[3], Groups: bm.Shape[2], DState: bm.Shape[3],
		DtSoftplus: true, X: get("x"), Dt: get("dt"), A: get("A"), B: get("B"), C: get("C"), D: get("D"), Z: get("z"),
		DtBias: get("dt_bias"), InitialStates: get("initial_states")}
	want, wantFin, err := reference.SSD(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{"auto", "chunked", "recurrent"} {
		pp := Params{"form": form}
		for k, v := range p {
			pp[k] = v
		}
		out, err := op.Run(context.Background(), d, f, pp)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		if len(out) != 2 || out[0].Name != "out" || out[1].Name != "final_states" {
			t.Fatalf("%s: outputs %v", form, out)
		}
		for i, w := range [][]float64{want, wantFin} {
			if e := reference.RelErr(out[i].F32, w); !(e <= 1e-5) {
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
