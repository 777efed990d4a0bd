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
	"github.com/vkseq/vkseq/report"
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

// cmdBench runs `vkbench bench`; its status is 1 under -strict when a result beats its ceiling.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if modelArg(args) != "" {
		return 0, cmdBenchModel(ctx, args, stdout, stderr)
	}
	fs := newFlags("bench", stderr)
	opList := fs.String("op", "", "comma-separated ops (default: all, at their default sizes)")
	shape := fs.String("shape", "", "one shape and op parameters, k=v,k=v (needs one -op)")
	dtype := fs.String("dtype", "f32", "storage type: f32 or f16 (ops without f16 report f32)")
	runs := fs.Int("runs", 5, "timed runs per measurement (median reported)")
	quick := fs.Bool("quick", false, "a short run: the sizes the issues name, not whole sweeps (make bench)")
	sel := fs.String("device", "", "device index or name substring")
	asJSON := fs.Bool("json", false, "print one JSON document")
	preset := fs.String("preset", "", "peers: every peer case's op at the peer's shape (report.PeerCases), for vkbench compare")
	strict := fs.Bool("strict", false, "exit with status 1 when a result runs above the ceiling it is reported against")
	if err := parse(fs, args); err != nil {
		return 0, err
	}
	if *preset != "" && *preset != "peers" {
		return 0, fmt.Errorf("-preset %q: want peers", *preset)
	}
	if *preset != "" && (*opList != "" || *shape != "" || *quick || *dtype != "f32") {
		return 0, fmt.Errorf("-preset peers sets the ops, shapes and dtype (f32, as the peers) itself: drop -op, -shape, -quick and -dtype")
	}
	if *dtype != "f32" && *dtype != "f16" {
		return 0, fmt.Errorf("-dtype %q: want f32 or f16", *dtype)
	}
	params, err := suite.ParseParams(*shape)
	if err != nil {
		return 0, err
	}
	ops, err := selectOps(*opList)
	if err != nil {
		return 0, err
	}
	if len(params) > 0 && len(ops) != 1 {
		return 0, fmt.Errorf("-shape needs exactly one -op")
	}
	if *dtype == "f16" {
		params["dtype"] = "f16"
	}
	if *runs < 1 {
		return 0, fmt.Errorf("-runs %d: want ≥ 1", *runs)
	}
	d, err := openDevice(*sel)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	info := d.Info()
	if !*asJSON {
		printDevices(stdout, []gpu.DeviceInfo{info})
		fmt.Fprintln(stdout)
	}
	ceil, err := bench.MeasureCeilings(d)
	if err != nil {
		return 0, fmt.Errorf("measuring the ceilings: %w", err)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "ceilings (best of %d variants): copy %.2f GB/s (read + write; %s), FMA %.1f GFLOP/s (%s)\n\n",
			len(ceil.Variants), ceil.CopyGBps, ceil.CopyKernel, ceil.FMAGFLOPs, ceil.FMAKernel)
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
	jobs := make([]benchJob, 0, len(ops))
	for _, op := range ops {
		jobs = append(jobs, benchJob{op: op, params: params})
	}
	if *preset == "peers" {
		if jobs, err = peerJobs(); err != nil {
			return 0, err
		}
	}
	for _, j := range jobs {
		if err := j.op.Bench(ctx, b, j.params); err != nil {
			bar.Finish()
			return 0, fmt.Errorf("%s %s: %w", j.op.Name, j.label, err)
		}
	}
	bar.Finish()
	if err := validationErrors(); err != nil {
		return 0, err
	}
	var over []suite.Result
	for _, r := range b.Results {
		if r.OverCeiling() {
			over = append(over, r)
		}
	}
	if *asJSON {
		doc := report.BenchDoc{Schema: 1, Device: report.Device{Name: info.Name, Driver: info.Driver, Type: string(info.Type)}, Ceilings: ceil, Results: b.Results}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return 0, err
		}
	} else {
		printResults(stdout, b.Results)
	}
	for _, r := range over {
		fmt.Fprintf(stderr, "vkbench bench: warning: %s %s %s runs at %.0f%% of the %s ceiling: that ceiling is not a ceiling, or the op's FLOP or byte count is wrong\n",
			r.Op, r.Variant, suite.ShapeString(r.Shape), 100*r.CeilingFraction, r.Ceiling)
	}
	if len(over) > 0 && *strict {
		return 1, nil
	}
	return 0, nil
}

// benchJob is one op to bench with its parameters.
type benchJob struct {
	op     suite.Op
	params suite.Params
	label  string // the shape, for errors
}

// peerJobs lists report.PeerCases as bench jobs (float32, as the peers run).
func peerJobs() ([]benchJob, error) {
	var jobs []benchJob
	for _, c := range report.PeerCases {
		op, ok := suite.Lookup(c.Op)
		if !ok {
			return nil, fmt.Errorf("peer case %s: op %q is not registered", c.Case, c.Op)
		}
		p, err := suite.ParseParams(c.Shape)
		if err != nil {
			return nil, fmt.Errorf("peer case %s: %w", c.Case, err)
		}
		jobs = append(jobs, benchJob{op: op, params: p, label: "(peer case " + c.Case + ")"})
	}
	return jobs, nil
}

func printResults(w io.Writer, rs []suite.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tvariant\tdtype\tshape\tmedian ms\tmin ms\tGFLOP/s\tGB/s\tceiling\tof\tref ms\tvs ref\t")
	for _, r := range rs {
		ref, speed := "-", "-"
		if r.ReferenceNS > 0 {
			ref = fmt.Sprintf("%.2f", float64(r.ReferenceNS)/1e6)
			speed = fmt.Sprintf("%.1fx", r.Speedup())
		}
		frac, of := fmt.Sprintf("%.0f%%", 100*r.CeilingFraction), r.Ceiling
		switch {
		case r.Host:
			frac, of = "-", "host"
		case r.OverCeiling():
			frac += " OVER"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.3f\t%.3f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t\n", r.Op, r.Variant, r.DType, suite.ShapeString(r.Shape),
			float64(r.MedianNS)/1e6, float64(r.MinNS)/1e6, r.GFLOPs, r.GBps, frac, of, ref, speed)
	}
	tw.Flush()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
