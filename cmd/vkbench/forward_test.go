package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

// TestForwardMamba: vkbench forward on the Mamba fixtures gives the PyTorch logits (f32 storage
// ≤ 1e-4, f16 ≤ 1e-2), with and without -decode.
func TestForwardMamba(t *testing.T) {
	needDevice(t)
	for _, name := range []string{"mamba_ssm", "mamba2_hf"} {
		for _, c := range []struct {
			dtype, decode string
			tol           float64
		}{{"f32", "0", 1e-4}, {"f16", "7", 1e-2}} {
			dir := filepath.Join("..", "..", "testdata", "models", name)
			out := filepath.Join(t.TempDir(), "logits.safetensors")
			code, stdout, stderr := vkbench(t, "forward", "-model", dir, "-in", filepath.Join(dir, "io.safetensors"),
				"-out", out, "-dtype", c.dtype, "-decode", c.decode)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s %s", name, code, stdout, stderr)
			}
			got, err := tensorio.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tensorio.ReadFile(filepath.Join(dir, "io.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			g, err := got.Float32("logits")
			if err != nil {
				t.Fatal(err)
			}
			w, err := want.Float32("logits")
			if err != nil {
				t.Fatal(err)
			}
			if gs, _ := got.Shape("logits"); len(g) != len(w) {
				t.Fatalf("%s: logits %v, want %d values", name, gs, len(w))
			}
			e := reference.RelErr(g, reference.ToFloat64(w))
			t.Logf("%s %s decode %s: rel err %.2e", name, c.dtype, c.decode, e)
			if !(e <= c.tol) {
				t.Errorf("%s %s decode %s: rel err %.3e, want ≤ %.0e", name, c.dtype, c.decode, e, c.tol)
			}
		}
	}
}

// copyFixture copies a fixture folder to a temporary one the test may spoil.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "testdata", "models", name)
	dst := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// rewrite rewrites dir/model.safetensors through edit (as F32).
func rewrite(t *testing.T, dir string, edit func(map[string]tensorio.Tensor)) {
	t.Helper()
	path := filepath.Join(dir, "model.safetensors")
	f, err := tensorio.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]tensorio.Tensor{}
	for _, n := range f.Names() {
		tt, _ := f.Get(n)
		tt.DType = tensorio.F32
		m[n] = tt
	}
	edit(m)
	var ts []tensorio.Tensor
	for _, tt := range m {
		ts = append(ts, tt)
	}
	if err := tensorio.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
}

// TestForwardBadInputs: bad checkpoints and inputs exit with status 2 and a message naming the
// problem, never a panic.
func TestForwardBadInputs(t *testing.T) {
	needDevice(t)
	in := filepath.Join("..", "..", "testdata", "models", "mamba_hf", "io.safetensors")
	const A = "backbone.layers.1.mixer.A_log"
	cases := []struct {
		name  string
		setup func(t *testing.T) (dir, input string)
		want  string
	}{
		{"missing tensor", func(t *testing.T) (string, string) {
			d := copyFixture(t, "mamba_hf")
			rewrite(t, d, func(m map[string]tensorio.Tensor) { delete(m, A) })
			return d, in
		}, `missing tensor "` + A + `"`},
		{"mis-shaped tensor", func(t *testing.T) (string, string) {
			d := copyFixture(t, "mamba_hf")
			rewrite(t, d, func(m map[string]tensorio.Tensor) {
				m[A] = tensorio.Tensor{Name: A, DType: tensorio.F32, Shape: []int{8, 64}, F32: m[A].F32}
			})
			return d, in
		}, `"` + A + `" has shape [8 64], the config implies [64 8]`},
		{"truncated safetensors", func(t *testing.T) (string, string) {
			d := copyFixture(t, "mamba_hf")
			p := filepath.Join(d, "model.safetensors")
			st, _ := os.Stat(p)
			if err := os.Truncate(p, st.Size()-100); err != nil {
				t.Fatal(err)
			}
			return d, in
		}, "model.safetensors"},
		{"config contradicts weights (hidden size)", func(t *testing.T) (string, string) {
			d := copyFixture(t, "mamba_hf")
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			os.WriteFile(filepath.Join(d, "config.json"), []byte(strings.Replace(string(b), `"hidden_size": 32`, `"hidden_size": 48`, 1)), 0o644)
			return d, in
		}, "the config implies"},
		{"config contradicts weights (layers)", func(t *testing.T) (string, string) {
			d := copyFixture(t, "mamba_hf")
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			os.WriteFile(filepath.Join(d, "config.json"), []byte(strings.Replace(string(b), `"num_hidden_layers": 2`, `"num_hidden_layers": 1`, 1)), 0o644)
			return d, in
		}, "backbone.layers.1."},
		{"unknown model_type", func(t *testing.T) (string, string) {
			d := copyFixture(t, "mamba_hf")
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			os.WriteFile(filepath.Join(d, "config.json"), []byte(strings.Replace(string(b), `"model_type": "mamba"`, `"model_type": "mamba9"`, 1)), 0o644)
			return d, in
		}, `model_type "mamba9"`},
		{"unsupported setting", func(t *testing.T) (string, string) {
			d := copyFixture(t, "mamba2_ssm")
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			os.WriteFile(filepath.Join(d, "config.json"), []byte(strings.Replace(string(b), `"attn_layer_idx": []`, `"attn_layer_idx": [1]`, 1)), 0o644)
			return d, in
		}, "attn_layer_idx"},
		{"id ≥ vocab", func(t *testing.T) (string, string) {
			p := filepath.Join(t.TempDir(), "in.safetensors")
			if err := tensorio.WriteFile(p, []tensorio.Tensor{{Name: "input_ids", DType: tensorio.I32, Shape: []int{1, 3}, I32: []int32{1, 48, 2}}}, nil); err != nil {
				t.Fatal(err)
			}
			return filepath.Join("..", "..", "testdata", "models", "mamba_hf"), p
		}, "input_ids[0, 1] = 48 is outside the vocabulary [0, 48)"},
		{"no input_ids", func(t *testing.T) (string, string) {
			p := filepath.Join(t.TempDir(), "in.safetensors")
			if err := tensorio.WriteFile(p, []tensorio.Tensor{{Name: "ids", DType: tensorio.I32, Shape: []int{1, 3}, I32: []int32{1, 2, 3}}}, nil); err != nil {
				t.Fatal(err)
			}
			return filepath.Join("..", "..", "testdata", "models", "mamba_hf"), p
		}, `"input_ids"`},
		{"missing folder", func(t *testing.T) (string, string) {
			return filepath.Join(t.TempDir(), "nope"), in
		}, "nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, input := c.setup(t)
			code, _, stderr := vkbench(t, "forward", "-model", dir, "-in", input, "-out", filepath.Join(t.TempDir(), "o.safetensors"))
			if code != 2 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and a message containing %q", code, stderr, c.want)
			}
		})
	}
}
