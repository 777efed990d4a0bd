package suite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

func openDevice(t *testing.T) *gpu.Device {
	t.Helper()
	d, err := gpu.Open()
	if errors.Is(err, gpu.ErrNoDevice) && os.Getenv("VKSEQ_REQUIRE_DEVICE") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		msgs, n := gpu.ValidationMessages()
		for _, m := range msgs {
			t.Error(m)
		}
		if n > len(msgs) {
			t.Errorf("%d more validation messages", n-len(msgs))
		}
	})
	return d
}

func TestEveryOpHasEverything(t *testing.T) {
	for _, op := range Ops() {
		if op.Verify == nil || op.Bench == nil || op.Run == nil || op.Example == nil || op.Summary == "" || op.Inputs == "" || op.Outputs == "" {
			t.Errorf("op %s lacks a Verify, Bench, Run, Example or its documentation", op.Name)
		}
	}
}

// TestRunEveryOp200Times runs every registered op on its example 200 times on one device: the
// validation layer must report nothing, the Go heap must stay flat, and so must device memory.
func TestRunEveryOp200Times(t *testing.T) {
	d := openDevice(t)
	ctx := context.Background()
	iters := 200
	if v := os.Getenv("VKSEQ_LEAK_ITERS"); v != "" {
		fmt.Sscan(v, &iters)
	}
	if testing.Short() {
		iters = 20
	}
	for _, op := range Ops() {
		if op.Example == nil {
			continue
		}
		t.Run(op.Name, func(t *testing.T) {
			ts, p := op.Example()
			f, err := ExampleFile(ts)
			if err != nil {
				t.Fatal(err)
			}
			var before runtime.MemStats
			var blocksBefore int
			for i := 0; i < iters; i++ {
				out, err := op.Run(ctx, d, f, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(out) == 0 {
					t.Fatal("no outputs")
				}
				if i == 10 {
					runtime.GC()
					runtime.ReadMemStats(&before)
					blocksBefore, _ = d.MemoryStats()
				}
			}
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			blocks, _ := d.MemoryStats()
			t.Logf("Go heap %d → %d bytes, device memory blocks %d → %d", before.HeapAlloc, after.HeapAlloc, blocksBefore, blocks)
			if growth := int64(after.HeapAlloc) - int64(before.HeapAlloc); growth > 512<<10 {
				t.Errorf("Go heap grew by %d bytes over %d runs", growth, iters-10)
			}
			if blocks > blocksBefore {
				t.Errorf("device memory blocks grew from %d to %d", blocksBefore, blocks)
			}
		})
	}
}

func TestParams(t *testing.T) {
	p, err := ParseParams(" B=1, T=512 ,gated=1")
	if err != nil || p["B"] != "1" || p["T"] != "512" || p["gated"] != "1" {
		t.Fatalf("%v %v", p, err)
	}
	if _, err := ParseParams("B"); err == nil {
		t.Error("missing =")
	}
	if _, err := p.Int("gated", 0); err != nil {
		t.Error(err)
	}
	if _, err := (Params{"T": "x"}).Int("T", 0); err == nil {
		t.Error("non-integer accepted")
	}
	if err := p.Check("op", "B", "T"); err == nil {
		t.Error("unknown key accepted")
	}
}
