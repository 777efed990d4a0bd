package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vkseq/vkseq/suite"
)

func selectOps(list string) ([]suite.Op, error) {
	if list == "" {
		return suite.Ops(), nil
	}
	var out []suite.Op
	for _, name := range splitList(list) {
		op, ok := suite.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown op %q; ops are %v", name, suite.Names())
		}
		out = append(out, op)
	}
	return out, nil
}

func cmdVerify(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("verify", stderr)
	opList := fs.String("op", "", "comma-separated ops (default: all)")
	long := fs.Bool("long", false, "also verify the longest shapes")
	quick := fs.Bool("quick", false, "verify a short subset: f32 and a few shapes per op")
	sel := fs.String("device", "", "device index or name substring")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return 2, err
	}
	ops, err := selectOps(*opList)
	if err != nil {
		return 2, err
	}
	d, err := openDevice(*sel)
	if err != nil {
		return 2, err
	}
	defer d.Close()
	var results []suite.VerifyResult
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintf(stdout, "device: %s (%s)\n", d.Info().Name, d.Info().Type)
		fmt.Fprintln(tw, "op\tcase\tdtype\trel err\ttol\tresult")
	}
	failed := 0
	if *quick {
		ctx = suite.WithQuickVerify(ctx)
	}
	for _, op := range ops {
		err := op.Verify(ctx, d, *long, func(r suite.VerifyResult) {
			results = append(results, r)
			verdict := "pass"
			if !r.Pass() {
				verdict = "FAIL"
				failed++
				if r.Err != "" {
					verdict += ": " + r.Err
				}
			}
			if !*asJSON {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.2e\t%.0e\t%s\n", r.Op, r.Case, r.DType, r.RelErr, r.Tol, verdict)
			}
		})
		tw.Flush()
		if err != nil {
			return 2, fmt.Errorf("%s: %w", op.Name, err)
		}
	}
	verr := validationErrors()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"device": d.Info().Name, "results": results, "failed": failed}); err != nil {
			return 2, err
		}
	} else {
		fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	}
	if verr != nil {
		return 1, verr
	}
	if failed > 0 {
		return 1, nil
	}
	return 0, nil
}
