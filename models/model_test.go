package models

import (
	"context"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

var long = flag.Bool("long", false, "also run the longest shapes")

var sharedDevice *gpu.Device

// TestMain opens one device for the package (shared by every model test: use device(t)); validation
// messages fail the run.
func TestMain(m *testing.M) {
	flag.Parse()
	d, err := gpu.Open()
	if err != nil {
		if errors.Is(err, gpu.ErrNoDevice) && os.Getenv("VKSEQ_REQUIRE_DEVICE") == "" {
			println("models tests skipped: no Vulkan device:", err.Error())
			os.Exit(0)
		}
		println("models tests: opening the device:", err.Error())
		os.Exit(1)
	}
	sharedDevice = d
	code := m.Run()
	d.Close()
	msgs, n := gpu.ValidationMessages()
	for _, msg := range msgs {
		println(msg.String())
	}
	if n > 0 {
		println("validation layer messages:", n)
		code = 1
	} else if d.Validating() {
		println("validation layer: 0 messages")
	}
	os.Exit(code)
}

func device(t testing.TB) *gpu.Device {
	t.Helper()
	return sharedDevice
}

// fixtureDir is testdata/models/name.
func fixtureDir(name string) string { return filepath.Join("..", "testdata", "models", name) }

// fixtureIO reads a fixture's io.safetensors: input_ids [2, T] and the PyTorch logits [2, T, V].
func fixtureIO(t testing.TB, name string, vocab int) (ids []int32, logits []float32, T int) {
	t.Helper()
	f, err := tensorio.ReadFile(filepath.Join(fixtureDir(name), "io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err = f.Int32("input_ids", 2, tensorio.Any)
	if err != nil {
		t.Fatal(err)
	}
	T = len(ids) / 2
	logits, err = f.Float32("logits", 2, T, vocab)
	if err != nil {
		t.Fatal(err)
	}
	return ids, logits, T
}

// prefix returns the first t of T positions of each of B rows of x [B, T, n].
func prefix[E any](x []E, B, T, t, n int) []E {
	out := make([]E, 0, B*t*n)
	for b := range B {
		out = append(out, x[b*T*n:(b*T+t)*n]...)
	}
	return out
}

// runLM prefills ids [B, T] from a fresh cache, then decodes the last k tokens one at a time, and
// returns the logits [B, T, V] of every position.
func runLM(t testing.TB, m LM, ids []int32, B, T, k int) []float32 {
	t.Helper()
	d := device(t)
	V := m.Info().Vocab
	c, err := m.NewCache(B)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := make([]float32, B*T*V)
	for i := range out {
		out[i] = float32(math.NaN())
	}
	P := T - k
	pre := make([]float32, B*P*V)
	if err := m.Prefill(context.Background(), s, c, prefix(ids, B, T, P, 1), P, nil, pre); err != nil {
		t.Fatal(err)
	}
	for b := range B {
		copy(out[b*T*V:(b*T+P)*V], pre[b*P*V:(b+1)*P*V])
	}
	idt, err := d.NewTensor(gpu.I32, B)
	if err != nil {
		t.Fatal(err)
	}
	defer idt.Close()
	col := make([]int32, B)
	for j := P; j < T; j++ {
		for b := range B {
			col[b] = ids[b*T+j]
		}
		if err := idt.WriteInt32(col); err != nil {
			t.Fatal(err)
		}
		if err := c.Logits.Fill(float32(math.NaN())); err != nil {
			t.Fatal(err)
		}
		if err := m.Step(s, c, idt); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		l, err := c.Logits.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		for b := range B {
			copy(out[(b*T+j)*V:(b*T+j+1)*V], l[b*V:(b+1)*V])
		}
	}
	return out
}

// relErr is ‖got − want‖ / ‖want‖ with want float32.
func relErr(got, want []float32) float64 {
	return reference.RelErr(got, reference.ToFloat64(want))
}

// checkStepsMatchPrefill checks that prefill + k decode steps (one row) give the logits of the
// whole prefill of ids, for k = 1, 6 and len(ids)−1, within 1e-5.
func checkStepsMatchPrefill(t *testing.T, m LM, ids []int32, label string) {
	t.Helper()
	T := len(ids)
	whole := runLM(t, m, ids, 1, T, 0)
	for _, k := range []int{1, 6, T - 1} {
		e := relErr(runLM(t, m, ids, 1, T, k), whole)
		t.Logf("%s: prefill %d + decode %d vs prefill %d: rel err %.2e", label, T-k, k, T, e)
		if !(e <= 1e-5) {
			t.Errorf("%s: prefill %d + decode %d: rel err %.3e vs the prefill of all %d, want ≤ 1e-5", label, T-k, k, e, T)
		}
	}
}
