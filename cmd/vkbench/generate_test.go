package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/models"
	"github.com/vkseq/vkseq/reference"
)

// TestGenerateGreedy: greedy generation on a fixture gives the ids of a greedy decode of the float64
// reference model; sampling with a seed is reproducible.
func TestGenerateGreedy(t *testing.T) {
	needDevice(t)
	dir := filepath.Join("..", "..", "testdata", "models", "mamba2_hf")
	code, stdout, stderr := vkbench(t, "generate", "-model", dir, "-prompt-ids", "3,1,4,1,5", "-max-new-tokens", "6", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res generateResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	// Reference greedy decode.
	ck, err := models.OpenCheckpoint(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := reference.ParseMambaConfig(ck.Config().Raw)
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]reference.FLAWeight{}
	for _, n := range ck.Names() {
		v, _ := ck.Float32(n)
		s, _ := ck.Shape(n)
		w[n] = reference.FLAWeight{Shape: s, Data: reference.ToFloat64(v)}
	}
	ref, err := reference.NewMambaModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	st := ref.NewState(1)
	var logits []float64
	for _, id := range []int{3, 1, 4, 1, 5} {
		if logits, err = ref.Step(st, []int{id}); err != nil {
			t.Fatal(err)
		}
	}
	var want []int32
	for range 6 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		want = append(want, int32(best))
		if logits, err = ref.Step(st, []int{best}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(res.NewIDs, want) {
		t.Errorf("greedy ids %v, reference %v", res.NewIDs, want)
	}
	// Seeded sampling is reproducible.
	args := []string{"generate", "-model", dir, "-prompt-ids", "7,8", "-max-new-tokens", "5", "-temperature", "1.5", "-top-p", "0.95", "-seed", "11"}
	c1, o1, e1 := vkbench(t, args...)
	c2, o2, _ := vkbench(t, args...)
	if c1 != 0 || c2 != 0 || o1 != o2 {
		t.Errorf("seeded sampling: exit %d/%d, %q vs %q (%s)", c1, c2, o1, o2, e1)
	}
	if code, _, _ := vkbench(t, "generate", "-model", dir, "-prompt-ids", "3,40"); code != 2 {
		t.Errorf("prompt id = vocab: exit %d, want 2", code)
	}
}
