package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestBenchModelJSON: bench -model DIR prints section 9's document with a prefill and a decode row.
func TestBenchModelJSON(t *testing.T) {
	needDevice(t)
	dir := filepath.Join("..", "..", "testdata", "models", "mamba_hf")
	code, stdout, stderr := vkbench(t, "bench", "-model", dir, "-shape", "B=2,T=40", "-runs", "1", "-steps", "2", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc benchDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if doc.Schema != 1 || len(doc.Results) != 2 {
		t.Fatalf("document %+v", doc)
	}
	for i, v := range []string{"prefill", "decode"} {
		r := doc.Results[i]
		if r.Op != "model" || r.Variant != v || r.MedianNS <= 0 || r.Shape["B"] != 2 || r.GFLOPs <= 0 || r.Note == "" {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if code, _, _ := vkbench(t, "bench", "-model", "mamba-7b"); code != 2 {
		t.Errorf("unknown NAME: exit %d, want 2", code)
	}
	if code, _, _ := vkbench(t, "bench", "-model", dir, "-shape", "B=0"); code != 2 {
		t.Errorf("B=0: exit %d, want 2", code)
	}
}
