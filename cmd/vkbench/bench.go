package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"

	"github.com/vkseq/vkseq/bench"
	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/suite"
)

// benchDoc is the JSON document of docs/design.md §11.
type benchDoc struct {
	Schema   int            `json:"schema"`
	Device   benchDevice    `json:"device"`
	Ceilings bench.Ceilings `json:"ceilings"`
	Results  []suite.Result `json:"results"`
}

type benchDevice struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
	Type   string `json:"type"`
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if modelArg(args) != "" {
		return cmdBenchModel(ctx, args, stdout, stderr)
	}
	fs := newFlags("bench", stderr)
	opList := fs.String("op", "", "comma-separated ops (default: all, at their default sizes)")
	shape := fs.String("shape", "", "one shape and op parameters, k=v,k=v (needs one -op)")
	dtype := fs.String("dtype", "f32", "storage type: f32 or f16 (ops without f16 report f32)")
	runs := fs.Int("runs", 5, "timed runs per measurement (median reported)")
	quick := fs.Bool("quick", false, "a short run: the sizes the issues name, not whole sweeps (make bench)")
	sel := fs.String("device", "", "device index or name substring")
	asJSON := fs.Bool("json", false, "print one JSON document")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dtype != "f32" && *dtype != "f16" {
		return fmt.Errorf("-dtype %q: want f32 or f16", *dtype)
	}
	params, err := suite.ParseParams(*shape)
	if err != nil {
		return err
	}
	ops, err := selectOps(*opList)
	if err != nil {
		return err
	}
	if len(params) > 0 && len(ops) != 1 {
		return fmt.Errorf("-shape needs exactly one -op")
	}
	if *dtype == "f16" {
		params["dtype"] = "f16"
	}
	if *runs < 1 {
		return fmt.Errorf("-runs %d: want ≥ 1", *runs)
	}
	d, err := openDevice(*sel)
	if err != nil {
		return err
	}
	defer d.Close()
	info := d.Info()
	if !*asJSON {
		printDevices(stdout, []gpu.DeviceInfo{info})
		fmt.Fprintln(stdout)
	}
	ceil, err := bench.MeasureCeilings(d)
	if err != nil {
		return fmt.Errorf("measuring the ceilings: %w", err)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "ceilings: copy %.2f GB/s (read + write), FMA %.1f GFLOP/s\n\n", ceil.CopyGBps, ceil.FMAGFLOPs)
	}
	b := &suite.Bencher{Device: d, Ceilings: ceil, Runs: *runs, Quick: *quick}
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("benchmarking"),
		progressbar.OptionSpinnerType(14), progressbar.OptionClearOnFinish())
	if f, ok := stderr.(*os.File); !ok || !isTerminal(f) {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(io.Discard))
	}
	b.Progress = func(r suite.Result) {
		bar.Describe(fmt.Sprintf("%s %s %s", r.Op, r.Variant, suite.ShapeString(r.Shape)))
		bar.Add(1)
	}
	for _, op := range ops {
		if err := op.Bench(ctx, b, params); err != nil {
			bar.Finish()
			return fmt.Errorf("%s: %w", op.Name, err)
		}
	}
	bar.Finish()
	if err := validationErrors(); err != nil {
		return err
	}
	if *asJSON {
		doc := benchDoc{Schema: 1, Device: benchDevice{Name: info.Name, Driver: info.Driver, Type: string(info.Type)}, Ceilings: ceil, Results: b.Results}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	printResults(stdout, b.Results)
	return nil
}

func printResults(w io.Writer, rs []suite.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tvariant\tdtype\tshape\tmedian ms\tmin ms\tGFLOP/s\tGB/s\tceiling\tref ms\tvs ref\t")
	for _, r := range rs {
		ref, speed := "-", "-"
		if r.ReferenceNS > 0 {
			ref = fmt.Sprintf("%.2f", float64(r.ReferenceNS)/1e6)
			speed = fmt.Sprintf("%.1fx", r.Speedup())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f\t%.3f\t%.2f\t%.2f\t%.0f%%\t%s\t%s\t\n", r.Op, r.Variant, r.DType, suite.ShapeString(r.Shape),
			float64(r.MedianNS)/1e6, float64(r.MinNS)/1e6, r.GFLOPs, r.GBps, 100*r.CeilingFraction, ref, speed)
	}
	tw.Flush()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
