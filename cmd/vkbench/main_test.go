package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/report"
	"github.com/vkseq/vkseq/tensorio"
)

func needDevice(t *testing.T) {
	t.Helper()
	if _, err := gpu.Devices(); errors.Is(err, gpu.ErrNoDevice) && os.Getenv("VKSEQ_REQUIRE_DEVICE") == "" {
		t.Skip(err)
	}
}

func vkbench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestRunGEMMFromPython runs gemm on a file written by testdata/make_gemm.py (Python's standard
// library alone) and compares with the float64 product that script computed.
func TestRunGEMMFromPython(t *testing.T) {
	needDevice(t)
	out := filepath.Join(t.TempDir(), "c.safetensors")
	code, stdout, stderr := vkbench(t, "run", "gemm", "-in", "../../testdata/gemm_in.safetensors", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	got, err := tensorio.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := got.Float32("c", 37, 23)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := tensorio.ReadFile("../../testdata/gemm_ref.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Float32("c", 37, 23)
	if err != nil {
		t.Fatal(err)
	}
	if e := reference.RelErr(c, reference.ToFloat64(want)); !(e <= 1e-5) {
		t.Fatalf("relative error %.3g > 1e-5", e)
	} else {
		t.Logf("relative error %.3g against Python's float64 product", e)
	}
}

func TestRunErrors(t *testing.T) {
	needDevice(t)
	dir := t.TempDir()
	good, err := os.ReadFile("../../testdata/gemm_in.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tensors := func(name string, ts ...tensorio.Tensor) string {
		p := filepath.Join(dir, name)
		if err := tensorio.WriteFile(p, ts, nil); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f32 := func(name string, shape ...int) tensorio.Tensor {
		n := 1
		for _, s := range shape {
			n *= s
		}
		return tensorio.Tensor{Name: name, DType: tensorio.F32, Shape: shape, F32: make([]float32, n)}
	}
	out := filepath.Join(dir, "out.safetensors")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"truncated", []string{"run", "gemm", "-in", write("t.safetensors", good[:len(good)-100]), "-out", out}, "truncated"},
		{"garbage", []string{"run", "gemm", "-in", write("g.safetensors", []byte("not a safetensors file at all")), "-out", out}, "safetensors"},
		{"missing file", []string{"run", "gemm", "-in", filepath.Join(dir, "nope"), "-out", out}, "nope"},
		{"unknown op", []string{"run", "nosuchop", "-in", "x", "-out", out}, "unknown op"},
		{"no out", []string{"run", "gemm", "-in", "../../testdata/gemm_in.safetensors"}, "-out"},
		{"missing b", []string{"run", "gemm", "-in", tensors("m.safetensors", f32("a", 4, 3)), "-out", out}, `"b"`},
		{"mis-shaped b", []string{"run", "gemm", "-in", tensors("s.safetensors", f32("a", 4, 3), f32("b", 5, 2)), "-out", out}, `"b"`},
		{"unknown tensor", []string{"run", "gemm", "-in", tensors("u.safetensors", f32("a", 4, 3), f32("b", 3, 2), f32("bias", 2)), "-out", out}, "bias"},
		{"unknown param", []string{"run", "gemm", "-in", "../../testdata/gemm_in.safetensors", "-out", out, "-p", "alpha=2"}, "alpha"},
		{"bad param", []string{"run", "gemm", "-in", "../../testdata/gemm_in.safetensors", "-out", out, "-p", "trans_a=maybe"}, "trans_a"},
	}
	for _, c := range cases {
		code, _, stderr := vkbench(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and a message naming %q", c.name, code, stderr, c.want)
		} else {
			t.Logf("%s: %s", c.name, strings.TrimSpace(stderr))
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed run left an output file")
	}
}

func TestDevicesCommand(t *testing.T) {
	needDevice(t)
	code, stdout, stderr := vkbench(t, "devices")
	if code != 0 || !strings.Contains(stdout, "usable") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, _ = vkbench(t, "devices", "-json")
	var devs []gpu.DeviceInfo
	if code != 0 || json.Unmarshal([]byte(stdout), &devs) != nil || len(devs) == 0 {
		t.Fatalf("devices -json: exit %d, %q", code, stdout)
	}
}

func TestVerifyCommand(t *testing.T) {
	needDevice(t)
	code, stdout, stderr := vkbench(t, "verify", "-op", "gemm,rows")
	if code != 0 || !strings.Contains(stdout, "0 failed") {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, _ := vkbench(t, "verify", "-op", "nosuchop"); code != 2 {
		t.Errorf("unknown op: exit %d", code)
	}
}

func TestBenchJSON(t *testing.T) {
	needDevice(t)
	code, stdout, stderr := vkbench(t, "bench", "-op", "gemm", "-shape", "M=64,N=48,K=32", "-runs", "1", "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc report.BenchDoc
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("%v: %q", err, stdout)
	}
	if doc.Schema != 1 || doc.Ceilings.CopyGBps <= 0 || doc.Ceilings.FMAGFLOPs <= 0 || len(doc.Results) == 0 ||
		doc.Ceilings.CopyKernel == "" || doc.Ceilings.FMAKernel == "" || len(doc.Ceilings.Variants) < 6 {
		t.Fatalf("document %+v", doc)
	}
	r := doc.Results[0]
	if r.Op != "gemm" || r.MedianNS <= 0 || r.Shape["M"] != 64 || r.GFLOPs <= 0 {
		t.Fatalf("result %+v", r)
	}
	if code, _, stderr := vkbench(t, "bench", "-op", "gemm", "-shape", "M=0"); code != 2 {
		t.Errorf("M=0: exit %d %s", code, stderr)
	}
}

func TestBenchFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-preset", "nosuch"},
		{"bench", "-preset", "peers", "-op", "gla"},
		{"bench", "-preset", "peers", "-quick"},
		{"bench", "-preset", "peers", "-dtype", "f16"},
	} {
		if code, _, _ := vkbench(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestCompareAndPlotCommands runs compare and plot on report's synthetic files.
func TestCompareAndPlotCommands(t *testing.T) {
	const peers, bench = "../../report/testdata/peers.jsonl", "../../report/testdata/bench.json"
	code, out, stderr := vkbench(t, "compare", "-peers", peers, "-bench", bench)
	if code != 0 || !strings.Contains(out, "12×") || !strings.Contains(out, "peer ÷ vkseq") {
		t.Fatalf("compare: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = vkbench(t, "compare", "-peers", peers, "-bench", bench, "-json")
	var rs []report.Ratio
	if err := json.Unmarshal([]byte(out), &rs); code != 0 || err != nil || len(rs) == 0 {
		t.Fatalf("compare -json: exit %d, %v", code, err)
	}
	if code, _, _ := vkbench(t, "compare", "-peers", peers); code != 2 {
		t.Errorf("compare without -bench: exit %d", code)
	}
	if code, _, _ := vkbench(t, "compare", "-peers", "nosuch.jsonl", "-bench", bench); code != 2 {
		t.Errorf("compare with a missing file: exit %d", code)
	}
	dir := filepath.Join(t.TempDir(), "plots")
	code, out, stderr = vkbench(t, "plot", "-bench", bench, "-peers", peers, "-out", dir)
	if code != 0 {
		t.Fatalf("plot: exit %d %s", code, stderr)
	}
	files := strings.Fields(out)
	if len(files) != 4 {
		t.Fatalf("plot wrote %v, want 4 files", files)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if code, _, _ := vkbench(t, "plot", "-bench", bench); code != 2 {
		t.Errorf("plot without -out: exit %d", code)
	}
}

func TestUsage(t *testing.T) {
	if code, _, _ := vkbench(t); code != 2 {
		t.Errorf("no arguments: exit %d", code)
	}
	if code, _, _ := vkbench(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if code, out, _ := vkbench(t, "help"); code != 0 || !strings.Contains(out, "usage") {
		t.Errorf("help: exit %d", code)
	}
}
