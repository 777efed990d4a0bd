package suite

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestBenchPastMemory asks every op family (but stft and mel, planned elsewhere) for a benchmark
// shape far past the host's and the device's memory, and one whose sizes overflow an int when
// multiplied: each must return an error naming the memory, before allocating anything.
func TestBenchPastMemory(t *testing.T) {
	d := openDevice(t)
	cases := []struct {
		op    string
		shape string
	}{
		{"gemm", "M=100000,N=100000,K=100000"},
		{"gemm", "Batch=10000000,M=10000000,N=10000000,K=10000000"},
		{"eltwise", "N=100000000000"},
		{"eltwise", "N=200000000"}, // fits the host here, not lavapipe's 2 GiB heap
		{"rows", "R=1000000,C=1000000"},
		{"gla", "B=1000,T=1000000,H=32"},
		{"delta_rule", "B=1000,T=1000000,H=32"},
		{"selective_scan", "B=1000,D=100000,L=100000"},
		{"selective_scan", "B=100000000,D=100000000,L=1"},
		{"ssd", "B=1000,L=1000000,H=64"},
		{"ssd", "B=100000000,L=1,H=100000"},
		{"causal_conv1d", "B=10000,D=100000,L=100000"},
	}
	for _, c := range cases {
		t.Run(c.op+"_"+c.shape, func(t *testing.T) {
			op, ok := Lookup(c.op)
			if !ok {
				t.Fatalf("op %s not registered", c.op)
			}
			p, err := ParseParams(c.shape)
			if err != nil {
				t.Fatal(err)
			}
			blocks0, _ := d.MemoryStats()
			b := &Bencher{Device: d, Runs: 1, MaxRef: 1}
			err = op.Bench(context.Background(), b, p)
			if !errors.Is(err, gpu.ErrOutOfHostMemory) && !errors.Is(err, gpu.ErrOutOfDeviceMemory) {
				t.Fatalf("got %v, want an out-of-memory error", err)
			}
			if !strings.Contains(err.Error(), "bytes") || !strings.Contains(err.Error(), c.op) {
				t.Errorf("error %q names neither the op nor the sizes", err)
			}
			if blocks, _ := d.MemoryStats(); blocks > blocks0 {
				t.Errorf("device memory blocks %d → %d", blocks0, blocks)
			}
			t.Log(err)
		})
	}
}
