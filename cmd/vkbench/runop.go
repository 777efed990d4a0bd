package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vkseq/vkseq/suite"
	"github.com/vkseq/vkseq/tensorio"
)

type paramList []string

func (p *paramList) String() string     { return strings.Join(*p, ",") }
func (p *paramList) Set(v string) error { *p = append(*p, v); return nil }

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	in := fs.String("in", "", "input safetensors file")
	out := fs.String("out", "", "output safetensors file (written as F32)")
	sel := fs.String("device", "", "device index or name substring")
	var ps paramList
	fs.Var(&ps, "p", "op parameter key=value (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: vkbench run OP -in IN.safetensors -out OUT.safetensors [-p key=value ...] [-device SEL]")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nops:")
		for _, op := range suite.Ops() {
			fmt.Fprintf(stderr, "  %-16s %s\n    inputs: %s\n    outputs: %s\n    params: %s\n", op.Name, op.Summary, op.Inputs, op.Outputs, op.ParamsDoc)
		}
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := parse(fs, args); err != nil {
			return err
		}
		fs.Usage()
		return errUsage
	}
	name := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	op, ok := suite.Lookup(name)
	if !ok {
		return fmt.Errorf("unknown op %q; ops are %v", name, suite.Names())
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("both -in and -out are required")
	}
	params, err := suite.ParseParams(strings.Join(ps, ","))
	if err != nil {
		return err
	}
	file, err := tensorio.ReadFile(*in)
	if err != nil {
		return err
	}
	d, err := openDevice(*sel)
	if err != nil {
		return err
	}
	defer d.Close()
	outputs, err := op.Run(ctx, d, file, params)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := validationErrors(); err != nil {
		return err
	}
	if err := tensorio.WriteFile(*out, outputs, map[string]string{"op": name, "device": d.Info().Name}); err != nil {
		return err
	}
	for _, t := range outputs {
		fmt.Fprintf(stdout, "%s %v\n", t.Name, t.Shape)
	}
	return nil
}
