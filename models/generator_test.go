package models

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// TestGenerator decodes with a Generator (the recorded, replayed step) and with the step recorded
// per token (ops.Sample, LM.Step, Stream.Run) side by side from the same prefills, for every model
// type: the sampled ids must be equal token for token and the logits equal, through rows of
// different prefill lengths, a ResetRow of one row, a new, longer prefill (which grows the
// scratch) and a freed scratch (so the step is recorded again). Then one token allocates no Go
// memory.
func TestGenerator(t *testing.T) {
	for _, tc := range []struct {
		name string
		dt   gpu.DType
	}{{"mamba_hf", gpu.F32}, {"mamba_ssm", gpu.F16}, {"mamba2_hf", gpu.F32}, {"mamba2_ssm", gpu.F16},
		{"gla", gpu.F32}, {"delta_net", gpu.F16}, {"gated_deltanet", gpu.F32}} {
		t.Run(tc.name+"/"+tc.dt.String(), func(t *testing.T) {
			d := device(t)
			m, err := Load(d, fixtureDir(tc.name), LoadOptions{DType: tc.dt, Segment: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			const B = 2
			info := m.Info()
			opt := ops.SampleOptions{Temperature: 1, TopP: 0.95, Seed: 11, VocabLimit: info.VocabSize}
			ref, err := m.NewCache(B)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			rep, err := m.NewCache(B)
			if err != nil {
				t.Fatal(err)
			}
			defer rep.Close()
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			gen, err := NewGenerator(m, rep, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer gen.Close()
			next, err := d.NewTensor(gpu.I32, B)
			if err != nil {
				t.Fatal(err)
			}
			defer next.Close()
			r := rand.New(rand.NewPCG(3, 4))
			prefill := func(T int, lens []int) {
				t.Helper()
				ids := make([]int32, B*T)
				for i := range ids {
					ids[i] = int32(r.IntN(info.VocabSize))
				}
				for _, c := range []*Cache{ref, rep} {
					if err := m.Prefill(t.Context(), s, c, ids, T, lens, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			k := 0
			got := make([]int32, B)
			decode := func(what string, steps int) {
				t.Helper()
				for range steps {
					o := opt
					o.Step = uint32(k)
					if err := ops.Sample(s, next, ref.Logits, o); err != nil {
						t.Fatal(err)
					}
					if err := m.Step(s, ref, next); err != nil {
						t.Fatal(err)
					}
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					want, err := next.ReadInt32()
					if err != nil {
						t.Fatal(err)
					}
					if err := gen.Next(got); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%s: token %d: replayed ids %v, recorded per token %v", what, k, got, want)
					}
					k++
				}
				lr, err := ref.Logits.ReadFloat32()
				if err != nil {
					t.Fatal(err)
				}
				lg, err := rep.Logits.ReadFloat32()
				if err != nil {
					t.Fatal(err)
				}
				if e := relErr(lg, lr); !(e <= 1e-6) {
					t.Errorf("%s: logits after %d tokens differ: rel. error %.3g", what, k, e)
				}
				if !slices.Equal(ref.Pos, rep.Pos) {
					t.Errorf("%s: positions %v, want %v", what, rep.Pos, ref.Pos)
				}
			}
			prefill(5, []int{5, 3})
			decode("after a prefill", 4)
			for _, c := range []*Cache{ref, rep} {
				if err := c.ResetRow(1); err != nil {
					t.Fatal(err)
				}
			}
			decode("after ResetRow", 3)
			prefill(70, nil)
			decode("after a longer prefill", 3)
			if gen.recs != 1 {
				t.Errorf("%d recordings before the scratch was freed, want 1", gen.recs)
			}
			// Freeing memory the recording binds makes the Generator record the step again.
			if err := rep.Scratch.Close(); err != nil {
				t.Fatal(err)
			}
			decode("after the scratch was freed", 2)
			if gen.recs != 2 {
				t.Errorf("%d recordings after the scratch was freed, want 2", gen.recs)
			}
			if a := testing.AllocsPerRun(5, func() {
				if err := gen.Next(got); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("%v Go allocations per token, want 0", a)
			}
			flaNoValidation(t)
		})
	}
}
