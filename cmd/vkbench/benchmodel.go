package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/vkseq/vkseq/bench"
	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/models"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/suite"
)

// cmdBenchModel is `vkbench bench -model NAME|DIR`: prefill tokens/s at -shape B,T and decode
// tokens/s (one token per row per step, after that prefill), as rows of section 9's schema with
// op "model". Times are wall-clock medians of whole prefills and of single decode tokens (a greedy
// sample and the step, recorded once and replayed: write the token index, submit, wait, read back the
// B ids), so they include the host's per-token work. Decode is compared with the weight-streaming
// limit (copy ceiling ÷ weight bytes read per step), prefill with the FMA ceiling.
func cmdBenchModel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if m := modelArg(args); isVocos(m) {
		return dispatchVocos(ctx, "bench", args, stdout, stderr)
	}
	fs := newFlags("bench", stderr)
	model := fs.String("model", "", "checkpoint folder or published NAME ("+fmt.Sprint(models.PublishedNames())+")")
	shape := fs.String("shape", "", "B=1,T=2048: batch rows and prefill length")
	dtype := fs.String("dtype", "f32", "weight storage: f32 or f16")
	runs := fs.Int("runs", 3, "timed prefills (median reported)")
	steps := fs.Int("steps", 64, "timed decode steps (median reported)")
	quick := fs.Bool("quick", false, "a short run: 1 prefill, 32 decode steps")
	sel := fs.String("device", "", "device index or name substring")
	asJSON := fs.Bool("json", false, "print one JSON document")
	if err := parse(fs, args); err != nil {
		return err
	}
	B, T, err := parseModelShape(*shape, 2048)
	if err != nil {
		return err
	}
	if B < 1 || T < 1 || *runs < 1 || *steps < 1 {
		return fmt.Errorf("B=%d, T=%d, -runs %d, -steps %d: want all ≥ 1", B, T, *runs, *steps)
	}
	if *quick {
		// Decode tokens on a shared CPU device come in bursts of 10-15 slow ones (1.3-1.8x, seen
		// with nothing else running): a median over 8 steps could land in one, over 32 it does not.
		*runs, *steps = 1, 32
	}
	dt, err := parseDType(*dtype)
	if err != nil {
		return err
	}
	d, err := openDevice(*sel)
	if err != nil {
		return err
	}
	defer d.Close()
	info := d.Info()
	m, err := openLM(d, *model, dt, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	ceil, err := bench.MeasureCeilings(d)
	if err != nil {
		return fmt.Errorf("measuring the ceilings: %w", err)
	}
	mi := m.Info()
	res, mem, err := benchLM(ctx, d, m, B, T, *runs, *steps)
	if err != nil {
		return err
	}
	if err := validationErrors(); err != nil {
		return err
	}
	dts := dt.String()
	pre, dec := &res[0], &res[1]
	preFLOP := float64(B)*float64(T)*float64(mi.TokenFLOPs) + float64(B)*float64(mi.HeadFLOPs)
	decFLOP := float64(B) * float64(mi.TokenFLOPs+mi.HeadFLOPs)
	fill := func(r *suite.Result, variant string, flop, bytes float64, tokens int) float64 {
		r.Op, r.Variant, r.DType = "model", variant, dts
		sec := float64(r.MedianNS) / 1e9
		r.GFLOPs = flop / sec / 1e9
		r.GBps = bytes / sec / 1e9
		r.CeilingFraction = max(r.GFLOPs/ceil.FMAGFLOPs, r.GBps/ceil.CopyGBps)
		return float64(tokens) / sec
	}
	preTPS := fill(pre, "prefill", preFLOP, float64(mi.WeightBytes), B*T)
	pre.Shape = map[string]int{"B": B, "T": T}
	pre.Note = fmt.Sprintf("%s: %.1f tokens/s; %.1f%% of the FMA ceiling", *model, preTPS, 100*pre.GFLOPs/ceil.FMAGFLOPs)
	decTPS := fill(dec, "decode", decFLOP, float64(mi.DecodeBytes), B)
	dec.Shape = map[string]int{"B": B, "T": 1}
	limit := ceil.CopyGBps * 1e9 / float64(mi.DecodeBytes) * float64(B)
	dec.Note = fmt.Sprintf("%s: %.2f tokens/s; weight-streaming limit %.2f tokens/s (%.1f%%); %d weight bytes read per step; "+
		"device memory: weights %d + state %d + scratch %d bytes", *model, decTPS, limit, 100*decTPS/limit,
		mi.DecodeBytes, mi.WeightBytes, mem.state, mem.scratch)
	if *asJSON {
		doc := benchDoc{Schema: 1, Device: benchDevice{Name: info.Name, Driver: info.Driver, Type: string(info.Type)}, Ceilings: ceil, Results: res}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	printDevices(stdout, []gpu.DeviceInfo{info})
	fmt.Fprintf(stdout, "\nceilings: copy %.2f GB/s (read + write), FMA %.1f GFLOP/s\n", ceil.CopyGBps, ceil.FMAGFLOPs)
	fmt.Fprintf(stdout, "model %s (%s): %d layers, hidden %d, vocab %d, %.1fM parameters, %s weights %.1f MiB\n\n", *model, mi.ModelType,
		mi.Layers, mi.Hidden, mi.Vocab, float64(mi.Params)/1e6, dts, float64(mi.WeightBytes)/(1<<20))
	printResults(stdout, res)
	for _, r := range res {
		fmt.Fprintf(stdout, "%s: %s\n", r.Variant, r.Note)
	}
	return nil
}

type lmMemory struct{ state, scratch int64 }

// benchLM times prefills of random ids [B, T] from a reset cache (after one untimed warm-up), then
// single greedy decode tokens (sample + step, replayed from one recording) continuing from the last prefill.
func benchLM(ctx context.Context, d *gpu.Device, m models.LM, B, T, runs, steps int) ([]suite.Result, lmMemory, error) {
	V := m.Info().Vocab
	c, err := m.NewCache(B)
	if err != nil {
		return nil, lmMemory{}, err
	}
	defer c.Close()
	s, err := d.NewStream()
	if err != nil {
		return nil, lmMemory{}, err
	}
	defer s.Close()
	r := suite.Rand()
	ids := make([]int32, B*T)
	for i := range ids {
		ids[i] = int32(r.IntN(V))
	}
	var pre []time.Duration
	for i := 0; i <= runs; i++ {
		if err := c.Reset(); err != nil {
			return nil, lmMemory{}, err
		}
		t0 := time.Now()
		if err := m.Prefill(ctx, s, c, ids, T, nil, nil); err != nil {
			return nil, lmMemory{}, err
		}
		if i > 0 {
			pre = append(pre, time.Since(t0))
		}
	}
	// Decode: greedy tokens from the replayed step (models.Generator: sample, step, read back the
	// B ids; one submit per token).
	gen, err := models.NewGenerator(m, c, ops.SampleOptions{VocabLimit: m.Info().VocabSize})
	if err != nil {
		return nil, lmMemory{}, err
	}
	defer gen.Close()
	out := make([]int32, B)
	var dec []time.Duration
	for i := -2; i < steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, lmMemory{}, err
		}
		t0 := time.Now()
		if err := gen.Next(out); err != nil {
			return nil, lmMemory{}, err
		}
		if i >= 0 {
			dec = append(dec, time.Since(t0))
		}
	}
	mem := lmMemory{state: c.StateBytes(), scratch: c.Scratch.Bytes()}
	return []suite.Result{stats(pre), stats(dec)}, mem, nil
}

func stats(ts []time.Duration) suite.Result {
	slices.Sort(ts)
	return suite.Result{MedianNS: ts[len(ts)/2].Nanoseconds(), MinNS: ts[0].Nanoseconds(), Runs: len(ts)}
}

// parseModelShape reads bench -model's -shape: B (default 1) and T (default defT), nothing else.
func parseModelShape(shape string, defT int) (B, T int, err error) {
	p, err := suite.ParseParams(shape)
	if err != nil {
		return 0, 0, err
	}
	if err := p.Check("model", "B", "T"); err != nil {
		return 0, 0, err
	}
	if B, err = p.Int("B", 1); err != nil {
		return 0, 0, err
	}
	if T, err = p.Int("T", defT); err != nil {
		return 0, 0, err
	}
	return B, T, nil
}
