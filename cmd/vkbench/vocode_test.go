package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

const vocosTiny = "../../testdata/vocos/same" // 8 kHz tiny random checkpoint

// TestVocode vocodes a synthetic 8 kHz WAV through the tiny checkpoint and checks the errors:
// a sample-rate mismatch, a stereo file, an empty file, a missing model (all exit 2).
func TestVocode(t *testing.T) {
	needDevice(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.wav")
	tone := make([]float32, 4000)
	for i := range tone {
		tone[i] = float32(0.5 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	if err := writeWAV(in, tone, 8000); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := vkbench(t, "vocode", "-model", vocosTiny, "-in", in, "-out", out)
	if code != 0 || !strings.Contains(stdout, "real-time factor") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	got, rate, err := readWAV(out)
	if err != nil || rate != 8000 || len(got) != 4000 {
		t.Fatalf("output: %v, %d Hz, %d samples; want 8000 Hz, 4000 samples", err, rate, len(got))
	}
	back, _, err := readWAV(in)
	if err != nil || reference.RelErr(back, reference.ToFloat64(tone)) > 1e-4 {
		t.Fatalf("WAV round trip: %v", err)
	}
	if err := writeWAV(in, tone, 16000); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", vocosTiny, "-in", in, "-out", out}, "sample rate 16000 Hz, the model wants 8000 Hz"},
		{[]string{"-model", dir, "-in", in, "-out", out}, "config.yaml"},
		{[]string{"-model", vocosTiny, "-in", filepath.Join(dir, "none.wav"), "-out", out}, "none.wav"},
	} {
		code, _, stderr := vkbench(t, append([]string{"vocode"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("vocode %v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	empty := filepath.Join(dir, "empty.wav")
	if err := writeWAV(empty, nil, 8000); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := vkbench(t, "vocode", "-model", vocosTiny, "-in", empty, "-out", out); code != 2 || !strings.Contains(stderr, "empty.wav") {
		t.Errorf("empty WAV: exit %d, %q", code, stderr)
	}
}

// TestForwardVocos runs forwardVocos on the PyTorch fixture's mel and compares with its audio.
func TestForwardVocos(t *testing.T) {
	needDevice(t)
	d, err := openDevice("")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	exp, err := tensorio.ReadFile(filepath.Join(vocosTiny, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	mel, _ := exp.Get("mel_T300")
	want, _ := exp.Get("audio_T300")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
	if err := tensorio.WriteFile(in, []tensorio.Tensor{{Name: "mel", DType: tensorio.F32, Shape: mel.Shape, F32: mel.F32}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := forwardVocos(context.Background(), d, vocosTiny, in, out); err != nil {
		t.Fatal(err)
	}
	f, err := tensorio.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Float32("audio", want.Shape...)
	if err != nil {
		t.Fatal(err)
	}
	if e := reference.RelErr(got, reference.ToFloat64(want.F32)); !(e <= 1e-4) {
		t.Errorf("forward vs PyTorch: %.3g", e)
	}
	bad := mel.F32[:len(mel.F32)-2*300]
	tensorio.WriteFile(in, []tensorio.Tensor{{Name: "mel", DType: tensorio.F32, Shape: []int{2, 7, 300}, F32: bad}}, nil)
	if err := forwardVocos(context.Background(), d, vocosTiny, in, out); err == nil || !strings.Contains(err.Error(), "\"mel\"") {
		t.Errorf("wrong mel count: %v", err)
	}
	r, err := benchVocos(context.Background(), d, vocosTiny, 1, 50, 2)
	if err != nil || r.Op != "model" || r.MedianNS <= 0 || !strings.Contains(r.Note, "real-time factor") {
		t.Errorf("benchVocos: %+v, %v", r, err)
	}
	os.Remove(out)
}
