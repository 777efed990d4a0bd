package suite

import (
	"context"
	"testing"
	"time"
)

// smallBench is a small benchmark shape per op for TestEveryOpVerifyAndBench (what `vkbench bench
// -op NAME -shape ...` runs), so that every op's Bench path is exercised without its default sweep.
var smallBench = map[string]string{
	"gemm":             "M=64,N=48,K=32",
	"eltwise":          "N=4096,fn=silu",
	"rows":             "R=64,C=256",
	"gla":              "B=1,T=128,H=2,K=32,V=32",
	"delta_rule":       "B=1,T=128,H=2,K=32,V=32",
	"selective_scan":   "B=1,D=64,L=128,N=16",
	"ssd":              "B=1,L=128,H=2,P=16,G=1,N=16",
	"causal_conv1d":    "B=1,D=64,L=128,W=4",
	"stft":             "B=2,L=4096,n_fft=256,hop_length=64",
	"istft":            "B=2,L=4096,n_fft=256,hop_length=64",
	"mel_fbanks":       "B=1,L=4096,n_fft=256,hop_length=64,n_mels=40",
	"conv1d":           "B=1,Cin=16,Cout=24,L=100,K=7",
	"depthwise_conv1d": "B=1,C=32,L=100,K=7",
	"layer_norm":       "R=64,C=128",
	"linear":           "M=20,N=96,K=64",
	"embedding":        "N=32,V=500,D=64",
	"swiglu":           "M=32,I=96",
	"norms":            "M=32,D=128",
	"activation":       "M=32,D=128",
	"transpose":        "B=2,R=40,C=56",
	"sample":           "B=2,V=1000",
}

// TestEveryOpVerifyAndBench runs every registered op's Verify (its quick subset: f32 and a few
// shapes) and its Bench at one small shape, so that `vkbench verify` and `vkbench bench` cannot
// rot: every verified case must pass and every bench must report a timed result.
func TestEveryOpVerifyAndBench(t *testing.T) {
	d := openDevice(t)
	ctx := WithQuickVerify(context.Background())
	for _, op := range Ops() {
		t.Run(op.Name, func(t *testing.T) {
			t0 := time.Now()
			n := 0
			err := op.Verify(ctx, d, false, func(r VerifyResult) {
				n++
				if !r.Pass() {
					t.Errorf("verify %s %s %s: rel err %.3g (tol %.0e) %s", r.Op, r.Case, r.DType, r.RelErr, r.Tol, r.Err)
				}
			})
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if n == 0 {
				t.Error("verify reported no case")
			}
			tv := time.Since(t0)
			shape, ok := smallBench[op.Name]
			if !ok {
				t.Fatalf("no small bench shape for %s: add one to smallBench", op.Name)
			}
			p, err := ParseParams(shape)
			if err != nil {
				t.Fatal(err)
			}
			b := &Bencher{Device: d, Runs: 1, MaxRef: time.Second}
			if err := op.Bench(ctx, b, p); err != nil {
				t.Fatalf("bench %s: %v", shape, err)
			}
			if len(b.Results) == 0 {
				t.Fatalf("bench %s: no results", shape)
			}
			for _, r := range b.Results {
				if r.MedianNS <= 0 || r.Op == "" {
					t.Errorf("bench result %+v", r)
				}
			}
			t.Logf("%d verified cases in %v; %d bench results in %v", n, tv.Round(time.Millisecond), len(b.Results), (time.Since(t0) - tv).Round(time.Millisecond))
		})
	}
}
