package models

import (
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

var mambaFixtures = []string{"mamba_hf", "mamba_ssm", "mamba2_ssm", "mamba2_hf"}

// TestMambaFixtures: the GPU Mamba and Mamba-2 models, loaded from the tiny checkpoints in each
// upstream spelling, give the logits of the PyTorch fixtures and of the float64 reference model at
// T = 1, 63, 200 with B = 2 (≤ 1e-4 with f32 storage, ≤ 1e-2 with f16), by chunked prefill and by
// prefill(T−k) + k decode steps.
func TestMambaFixtures(t *testing.T) {
	d := device(t)
	for _, name := range mambaFixtures {
		for _, dt := range []gpu.DType{gpu.F32, gpu.F16} {
			if dt == gpu.F16 && !d.Info().Float16Storage {
				continue
			}
			t.Run(fmt.Sprintf("%s/%v", name, dt), func(t *testing.T) {
				tol := 1e-4
				if dt == gpu.F16 {
					tol = 1e-2
				}
				m, err := Load(d, fixtureDir(name), LoadOptions{DType: dt, Segment: 64})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				V := m.Info().Vocab
				ids, want, T := fixtureIO(t, name, V)
				ref := refMamba(t, name)
				for _, tc := range []struct{ T, k int }{{1, 0}, {63, 0}, {200, 0}, {1, 1}, {63, 5}, {200, 3}} {
					sub := prefix(ids, 2, T, tc.T, 1)
					got := runLM(t, m, sub, 2, tc.T, tc.k)
					e := relErr(got, prefix(want, 2, T, tc.T, V))
					ints := make([]int, len(sub))
					for i, v := range sub {
						ints[i] = int(v)
					}
					r, err := ref.Forward(ints, 2, tc.T)
					if err != nil {
						t.Fatal(err)
					}
					er := reference.RelErr(got, r)
					t.Logf("T=%d decode %d: rel err %.2e vs PyTorch, %.2e vs reference", tc.T, tc.k, e, er)
					if !(e <= tol && er <= tol) {
						t.Errorf("T=%d decode %d: rel err %.3e vs PyTorch, %.3e vs reference, want ≤ %.0e", tc.T, tc.k, e, er, tol)
					}
				}
			})
		}
	}
}

// refMamba builds the float64 reference model of a fixture from the same files.
func refMamba(t testing.TB, name string) *reference.MambaModel {
	t.Helper()
	ck, err := OpenCheckpoint(fixtureDir(name), nil)
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
	m, err := reference.NewMambaModel(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMambaFusedStep: with dimensions whose parts start aligned (as the published checkpoints'
// do), a one-row decode step of Mamba and Mamba-2 runs in_proj (and Mamba's x_proj) as one GEMV
// over the whole weight and reads the parts of its output in place; its logits equal the chunked
// prefill's (random weights, f32 and f16 storage). The fixtures' tiny dimensions and B = 2 take
// the split path, which TestMambaFixtures checks.
func TestMambaFusedStep(t *testing.T) {
	d := device(t)
	configs := map[string]map[string]any{
		"mamba": {"model_type": "mamba", "hidden_size": 64.0, "intermediate_size": 128.0, "state_size": 16.0,
			"time_step_rank": 4.0, "conv_kernel": 4.0, "num_hidden_layers": 2.0, "vocab_size": 40.0,
			"layer_norm_epsilon": 1e-5, "use_bias": true, "use_conv_bias": true},
		"mamba2": {"model_type": "mamba2", "hidden_size": 64.0, "expand": 2.0, "head_dim": 16.0, "num_heads": 8.0,
			"n_groups": 2.0, "state_size": 16.0, "conv_kernel": 4.0, "num_hidden_layers": 2.0, "vocab_size": 40.0,
			"layer_norm_epsilon": 1e-5, "use_bias": true, "use_conv_bias": true, "chunk_size": 8.0},
	}
	for name, raw := range configs {
		for _, dt := range []gpu.DType{gpu.F32, gpu.F16} {
			if dt == gpu.F16 && !d.Info().Float16Storage {
				continue
			}
			m, err := Build(d, NewRandom(NewConfig(name, raw), "lm_head.weight"), LoadOptions{DType: dt})
			if err != nil {
				t.Fatal(err)
			}
			fused := 0
			for _, b := range m.(*Decoder).Blocks {
				switch mx := b.Mixer.(type) {
				case *MambaMixer:
					if mx.fusedStep {
						fused++
					}
				case *Mamba2Mixer:
					if mx.inProj != nil {
						fused++
					}
				}
			}
			if fused != 2 {
				t.Fatalf("%s %v: %d of 2 layers take the fused step, want 2 (alignment %d)", name, dt, fused, d.Info().StorageAlignment)
			}
			checkStepsMatchPrefill(t, m, []int32{3, 1, 4, 1, 5, 9, 2, 6, 5, 35, 8, 9, 7, 9, 3, 2, 38}, fmt.Sprintf("%s %v", name, dt))
			m.Close()
		}
	}
}
