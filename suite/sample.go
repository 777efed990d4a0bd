package suite

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:      "sample",
		Summary:   "sampling on the device: argmax, or temperature + top-p with a seeded counter-based draw, one id per row",
		Inputs:    "logits [B, V]",
		Outputs:   "ids [B] (I32)",
		ParamsDoc: "temperature (0 = argmax), top_p (0 or 1 = all), seed, step, vocab_limit; bench: B, V",
		Verify:    verifySample,
		Bench:     benchSample,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("logits", 3, 2, 50)}, Params{"temperature": "0.8", "top_p": "0.9", "seed": "7"}
		},
		Run: runSample,
	})
}

// sampleRun returns the ids Sample draws from logits [B, V].
func sampleRun(d *gpu.Device, logits []float64, b, v int, opt ops.SampleOptions) ([]int32, error) {
	ts := NewTensors(d)
	defer ts.Close()
	lt, err := ts.Upload(gpu.F32, logits, b, v)
	if err != nil {
		return nil, err
	}
	ids, err := ts.Output(gpu.I32, b)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error { return ops.Sample(s, ids, lt, opt) }); err != nil {
		return nil, err
	}
	return ids.ReadInt32()
}

func verifySample(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	type tc struct {
		b, v       int
		temp, topP float64
	}
	r := Rand()
	for _, c := range []tc{{4, 1, 0, 0}, {8, 50280, 0, 0}, {8, 1000, 1, 0}, {8, 1000, 0.8, 0.9}, {4, 32000, 1, 0.95}, {16, 77, 2, 0.5}} {
		if err := ctx.Err(); err != nil {
			return err
		}
		logits := Randn(r, c.b*c.v, 3)
		opt := ops.SampleOptions{Temperature: float32(c.temp), TopP: float32(c.topP), Seed: r.Uint64(), Step: 5}
		// RelErr is the fraction of rows whose id differs from the reference's, among rows the
		// reference's margin says float32 cannot tip (tolerance 0).
		res := VerifyResult{Op: "sample", Case: fmt.Sprintf("B=%d V=%d T=%g top_p=%g", c.b, c.v, c.temp, c.topP), DType: "f32", Tol: 0}
		got, err := sampleRun(d, logits, c.b, c.v, opt)
		if err == nil {
			var want []int32
			var margin []float64
			want, margin, err = reference.Sample(reference.ToFloat64(reference.ToFloat32(logits)), c.b, c.v,
				reference.SampleOptions{Temperature: c.temp, TopP: c.topP, Seed: opt.Seed, Step: opt.Step})
			bad := 0
			for i := range want {
				if err == nil && got[i] != want[i] && margin[i] > 1e-5 {
					bad++
				}
			}
			res.RelErr = float64(bad) / float64(c.b)
		}
		if err != nil {
			res.Err = err.Error()
		}
		report(res)
	}
	return nil
}

func benchSample(ctx context.Context, b *Bencher, p Params) error {
	if err := p.Check("sample", "B", "V", "dtype"); err != nil {
		return err
	}
	var bb, v int
	if err := p.Sizes("sample", Size{"B", &bb, 2}, Size{"V", &v, 50280}); err != nil {
		return err
	}
	ts := NewTensors(b.Device)
	defer ts.Close()
	lt, err := ts.Upload(gpu.F32, Randn(Rand(), bb*v, 3), bb, v)
	if err != nil {
		return err
	}
	ids, err := ts.Output(gpu.I32, bb)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		opt  ops.SampleOptions
	}{{"argmax", ops.SampleOptions{}}, {"top_p 0.9", ops.SampleOptions{Temperature: 1, TopP: 0.9, Seed: 1}}} {
		med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error { return ops.Sample(s, ids, lt, c.opt) })
		if err != nil {
			return err
		}
		b.Add(Result{Op: "sample", Variant: c.name, DType: "f32", Shape: map[string]int{"B": bb, "V": v}, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()},
			float64(bb*v), 4*float64(bb*v))
	}
	return nil
}

func runSample(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	if err := p.Check("sample", "temperature", "top_p", "seed", "step", "vocab_limit"); err != nil {
		return nil, err
	}
	temp, err := p.Float("temperature", 0)
	if err != nil {
		return nil, err
	}
	topP, err := p.Float("top_p", 0)
	if err != nil {
		return nil, err
	}
	seed, err := strconv.ParseUint(p.String("seed", "0"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("parameter seed=%q: want an unsigned integer", p["seed"])
	}
	step, err := p.Int("step", 0)
	if err != nil {
		return nil, err
	}
	limit, err := p.Int("vocab_limit", 0)
	if err != nil {
		return nil, err
	}
	if step < 0 || step > 1<<32-1 {
		return nil, fmt.Errorf("sample: step=%d, want 0 ≤ step < 2³²", step)
	}
	if err := in.CheckKnown("logits"); err != nil {
		return nil, err
	}
	sh, ok := in.Shape("logits")
	if !ok || len(sh) != 2 {
		return nil, fmt.Errorf("sample: input \"logits\" missing or not [B, V] (shape %v)", sh)
	}
	l, err := in.Float32("logits", sh...)
	if err != nil {
		return nil, err
	}
	ids, err := sampleRun(d, reference.ToFloat64(l), sh[0], sh[1],
		ops.SampleOptions{Temperature: float32(temp), TopP: float32(topP), Seed: seed, Step: uint32(step), VocabLimit: limit})
	if err != nil {
		return nil, err
	}
	return []tensorio.Tensor{{Name: "ids", DType: tensorio.I32, Shape: []int{sh[0]}, I32: ids}}, nil
}
