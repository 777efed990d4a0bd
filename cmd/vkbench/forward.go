package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/models"
	"github.com/vkseq/vkseq/tensorio"
)

// ==== VOCOS HOOK ===================================================================================
// Vocos lives on another branch; the coordinator wires it here. When vocosCommand is set, a -model
// that is a folder holding config.yaml, or the NAME vocos-mel-24khz, is handed to it with the command
// name ("forward", "bench") and the command's own arguments, and its result is the command's.
var vocosCommand func(ctx context.Context, command string, args []string, stdout, stderr io.Writer) error

// isVocos reports whether a -model argument names a Vocos model.
func isVocos(model string) bool {
	if model == "vocos-mel-24khz" {
		return true
	}
	_, err := os.Stat(filepath.Join(model, "config.yaml"))
	return err == nil
}

// dispatchVocos runs command through the Vocos hook, or says it is not built in.
func dispatchVocos(ctx context.Context, command string, args []string, stdout, stderr io.Writer) error {
	if vocosCommand == nil {
		return fmt.Errorf("Vocos models are not available in this build (the vocos hook in cmd/vkbench/forward.go is not wired)")
	}
	return vocosCommand(ctx, command, args, stdout, stderr)
}

// ===================================================================================================

// modelArg finds the -model value in args (for the Vocos dispatch before the flags are parsed).
func modelArg(args []string) string {
	for i, a := range args {
		switch a {
		case "-model", "--model":
			if i+1 < len(args) {
				return args[i+1]
			}
		}
		for _, p := range []string{"-model=", "--model="} {
			if len(a) > len(p) && a[:len(p)] == p {
				return a[len(p):]
			}
		}
	}
	return ""
}

// parseDType maps -dtype to a storage type.
func parseDType(s string) (gpu.DType, error) {
	switch s {
	case "f32":
		return gpu.F32, nil
	case "f16":
		return gpu.F16, nil
	}
	return 0, fmt.Errorf("-dtype %q: want f32 or f16", s)
}

// openLM loads a language model from a checkpoint folder, or builds random weights for a published
// NAME (models.PublishedNames).
func openLM(d *gpu.Device, model string, dt gpu.DType, progress io.Writer) (models.LM, error) {
	if model == "" {
		return nil, fmt.Errorf("-model is required (a checkpoint folder or one of %v)", models.PublishedNames())
	}
	opt := models.LoadOptions{DType: dt, Progress: progress}
	if st, err := os.Stat(model); err == nil && st.IsDir() {
		return models.Load(d, model, opt)
	}
	w, err := models.Published(model)
	if err != nil {
		return nil, fmt.Errorf("-model %q is neither a checkpoint folder nor a published name: %w", model, err)
	}
	return models.Build(d, w, opt)
}

// cmdForward runs a language model over input_ids from a safetensors file and writes the logits.
func cmdForward(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if m := modelArg(args); m != "" && isVocos(m) {
		return dispatchVocos(ctx, "forward", args, stdout, stderr)
	}
	fs := newFlags("forward", stderr)
	model := fs.String("model", "", "checkpoint folder (config.json + model.safetensors or shards) or published NAME")
	in := fs.String("in", "", "input safetensors: input_ids I32 or I64 [B, T]")
	out := fs.String("out", "", "output safetensors: logits F32 [B, T, vocab]")
	decode := fs.Int("decode", 0, "run the last K tokens through the decode step, one at a time")
	dtype := fs.String("dtype", "f32", "weight storage: f32 or f16")
	sel := fs.String("device", "", "device index or name substring")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("-in and -out are required")
	}
	dt, err := parseDType(*dtype)
	if err != nil {
		return err
	}
	f, err := tensorio.ReadFile(*in)
	if err != nil {
		return err
	}
	ids, err := f.Int32("input_ids", tensorio.Any, tensorio.Any)
	if err != nil {
		return err
	}
	sh, _ := f.Shape("input_ids")
	B, T := sh[0], sh[1]
	if B < 1 || T < 1 {
		return fmt.Errorf("input_ids has shape %v, want [B, T] with B, T ≥ 1", sh)
	}
	if *decode < 0 || *decode > T {
		return fmt.Errorf("-decode %d: want 0 ≤ K ≤ T = %d", *decode, T)
	}
	d, err := openDevice(*sel)
	if err != nil {
		return err
	}
	defer d.Close()
	m, err := openLM(d, *model, dt, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	V := m.Info().Vocab
	for i, id := range ids {
		if id < 0 || int(id) >= V {
			return fmt.Errorf("input_ids[%d, %d] = %d is outside the vocabulary [0, %d) of %s", i/T, i%T, id, V, *model)
		}
	}
	logits, err := forwardLogits(ctx, d, m, ids, B, T, *decode)
	if err != nil {
		return err
	}
	if err := validationErrors(); err != nil {
		return err
	}
	return tensorio.WriteFile(*out, []tensorio.Tensor{{Name: "logits", DType: tensorio.F32, Shape: []int{B, T, V}, F32: logits}}, nil)
}

// forwardLogits prefills the first T−k positions of ids [B, T] and decodes the last k one at a time,
// returning the logits [B, T, V] of every position.
func forwardLogits(ctx context.Context, d *gpu.Device, m models.LM, ids []int32, B, T, k int) ([]float32, error) {
	V := m.Info().Vocab
	c, err := m.NewCache(B)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s, err := d.NewStream()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	P := T - k
	pre := make([]int32, 0, B*P)
	for b := range B {
		pre = append(pre, ids[b*T:b*T+P]...)
	}
	preLogits := make([]float32, B*P*V)
	if err := m.Prefill(ctx, s, c, pre, P, nil, preLogits); err != nil {
		return nil, err
	}
	out := make([]float32, B*T*V)
	for b := range B {
		copy(out[b*T*V:(b*T+P)*V], preLogits[b*P*V:(b+1)*P*V])
	}
	idt, err := d.NewTensor(gpu.I32, B)
	if err != nil {
		return nil, err
	}
	defer idt.Close()
	col := make([]int32, B)
	for j := P; j < T; j++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for b := range B {
			col[b] = ids[b*T+j]
		}
		if err := idt.WriteInt32(col); err != nil {
			return nil, err
		}
		if err := m.Step(s, c, idt); err != nil {
			return nil, err
		}
		if err := s.Run(); err != nil {
			return nil, err
		}
		l, err := c.Logits.ReadFloat32()
		if err != nil {
			return nil, err
		}
		for b := range B {
			copy(out[(b*T+j)*V:(b*T+j+1)*V], l[b*V:(b+1)*V])
		}
	}
	return out, nil
}
