package models

import (
	"context"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// TestRowsAndReset: rows of different lengths prefill as if alone; resetting one row restarts its
// sequence without touching the other; a following decode step continues both rows.
func TestRowsAndReset(t *testing.T) {
	d := device(t)
	for _, name := range []string{"mamba_hf", "mamba2_ssm"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(d, fixtureDir(name), LoadOptions{Segment: 32})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			V := m.Info().Vocab
			ids, _, T := fixtureIO(t, name, V)
			ref := refMamba(t, name)
			refLast := func(b, n int) []float64 { // reference logits after the first n tokens of row b
				in := make([]int, n)
				for i := range in {
					in[i] = int(ids[b*T+i])
				}
				l, err := ref.Forward(in, 1, n)
				if err != nil {
					t.Fatal(err)
				}
				return l[(n-1)*V:]
			}
			c, err := m.NewCache(2)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			check := func(what string, b, n int) {
				t.Helper()
				l, err := c.Logits.ReadFloat32()
				if err != nil {
					t.Fatal(err)
				}
				if e := reference.RelErr(l[b*V:(b+1)*V], refLast(b, n)); !(e <= 1e-4) {
					t.Errorf("%s: row %d after %d tokens: rel err %.3e, want ≤ 1e-4", what, b, n, e)
				}
			}
			// Rows of 63 and 20 tokens in one [2, 63] call.
			in := prefix(ids, 2, T, 63, 1)
			if err := m.Prefill(context.Background(), s, c, in, 63, []int{63, 20}, nil); err != nil {
				t.Fatal(err)
			}
			check("varlen prefill", 0, 63)
			check("varlen prefill", 1, 20)
			// Reset row 0, prefill 10 tokens into it only.
			if err := c.ResetRow(0); err != nil {
				t.Fatal(err)
			}
			if err := m.Prefill(context.Background(), s, c, in, 63, []int{10, 0}, nil); err != nil {
				t.Fatal(err)
			}
			check("after reset", 0, 10)
			check("untouched row", 1, 20)
			// One decode step for both rows.
			idt, err := d.FromInt32([]int32{ids[10], ids[T+20]}, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer idt.Close()
			if err := m.Step(s, c, idt); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			check("step", 0, 11)
			check("step", 1, 21)
			if c.Pos[0] != 11 || c.Pos[1] != 21 {
				t.Errorf("Pos = %v, want [11 21]", c.Pos)
			}
		})
	}
}

// TestStepAllocs: a decode step (record, submit, wait) allocates no device memory after the first
// (scratch, states and logits are the cache's). It also counts the step's Go allocations: the
// models package itself makes none per step (pprof -memprofilerate 1 shows none under models.*);
// the rest come from recording dispatches (gpu.Stream.Dispatch, Tensor.Shape copies in the ops'
// checks, KernelSpec.key, shaders.SPIRV reading the embedded file per call), about 20 per
// dispatch, which only a recorded-once, resubmitted command buffer in gpu would remove.
func TestStepAllocs(t *testing.T) {
	d := device(t)
	for _, name := range []string{"mamba_hf", "mamba2_hf"} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(d, fixtureDir(name), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			c, err := m.NewCache(2)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			s, err := d.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ids, err := d.FromInt32([]int32{1, 2}, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer ids.Close()
			step := func() {
				if err := m.Step(s, c, ids); err != nil {
					t.Fatal(err)
				}
				if err := s.Submit(); err != nil {
					t.Fatal(err)
				}
				if err := s.Wait(); err != nil {
					t.Fatal(err)
				}
			}
			step()
			_, before := d.MemoryStats()
			scratch := c.Scratch.Bytes()
			allocs := testing.AllocsPerRun(20, step)
			_, after := d.MemoryStats()
			t.Logf("Go allocations per decode step: %.1f; device memory %d → %d bytes", allocs, before, after)
			if after != before || c.Scratch.Bytes() != scratch {
				t.Errorf("device memory grew during decode: %d → %d bytes (scratch %d → %d)", before, after, scratch, c.Scratch.Bytes())
			}
		})
	}
}
