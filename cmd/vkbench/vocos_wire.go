package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vkseq/vkseq/bench"
	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/suite"
)

// The Vocos side of `vkbench forward` and `vkbench bench -model` (forward.go's hook): a -model
// folder holding config.yaml, or the NAME vocos-mel-24khz.
func init() { vocosCommand = runVocosCommand }

// runVocosCommand parses the flags of forward or bench for a Vocos model and runs it.
func runVocosCommand(ctx context.Context, command string, args []string, stdout, stderr io.Writer) error {
	switch command {
	case "forward":
		fs := newFlags("forward", stderr)
		model := fs.String("model", "", "Vocos folder (config.yaml + model.safetensors) or vocos-mel-24khz")
		in := fs.String("in", "", "input safetensors: mel F32 [B, n_mels, frames] or audio F32 [B, samples]")
		out := fs.String("out", "", "output safetensors: audio F32 [B, samples]")
		dtype := fs.String("dtype", "f32", "weight storage (Vocos runs in f32)")
		sel := fs.String("device", "", "device index or name substring")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *in == "" || *out == "" {
			return fmt.Errorf("-in and -out are required")
		}
		if *dtype != "f32" {
			return fmt.Errorf("-dtype %s: Vocos runs with f32 storage only", *dtype)
		}
		d, err := openDevice(*sel)
		if err != nil {
			return err
		}
		defer d.Close()
		if err := forwardVocos(ctx, d, *model, *in, *out); err != nil {
			return err
		}
		return validationErrors()
	case "bench":
		fs := newFlags("bench", stderr)
		model := fs.String("model", "", "Vocos folder or vocos-mel-24khz")
		shape := fs.String("shape", "", "B=1,T=94: batch rows and mel frames (94 frames ≈ 1 s at 24 kHz, hop 256)")
		runs := fs.Int("runs", 3, "timed forwards (median reported)")
		quick := fs.Bool("quick", false, "one timed run")
		dtype := fs.String("dtype", "f32", "weight storage (Vocos runs in f32)")
		sel := fs.String("device", "", "device index or name substring")
		asJSON := fs.Bool("json", false, "print one JSON document")
		if err := parse(fs, args); err != nil {
			return err
		}
		if *dtype != "f32" {
			return fmt.Errorf("-dtype %s: Vocos runs with f32 storage only", *dtype)
		}
		B, T, err := parseModelShape(*shape, 94)
		if err != nil {
			return err
		}
		if *quick {
			*runs = 1
		}
		d, err := openDevice(*sel)
		if err != nil {
			return err
		}
		defer d.Close()
		ceil, err := bench.MeasureCeilings(d)
		if err != nil {
			return fmt.Errorf("measuring the ceilings: %w", err)
		}
		r, err := benchVocos(ctx, d, *model, B, T, *runs)
		if err != nil {
			return err
		}
		if err := validationErrors(); err != nil {
			return err
		}
		r.CeilingFraction = r.GFLOPs / ceil.FMAGFLOPs
		res := []suite.Result{r}
		info := d.Info()
		if *asJSON {
			doc := benchDoc{Schema: 1, Device: benchDevice{Name: info.Name, Driver: info.Driver, Type: string(info.Type)}, Ceilings: ceil, Results: res}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(doc)
		}
		printDevices(stdout, []gpu.DeviceInfo{info})
		fmt.Fprintf(stdout, "\nceilings: copy %.2f GB/s (read + write), FMA %.1f GFLOP/s\n\n", ceil.CopyGBps, ceil.FMAGFLOPs)
		printResults(stdout, res)
		fmt.Fprintf(stdout, "%s: %s\n", r.Variant, r.Note)
		return nil
	}
	return fmt.Errorf("vocos: no %q command", command)
}
