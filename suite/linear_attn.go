package suite

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

// The run adapters of the linear-attention ops (gla, delta_rule) share their file layout: q, k
// [B,T,H,K], v [B,T,H,V], per-op inputs, optional initial_state [N,H,K,V] and cu_seqlens [N+1];
// outputs o and final_state; parameters form (auto, chunked or recurrent: the prefill entry point's
// ops.Form) and scale. runLinearAttn reads, uploads and runs them; the ops differ only in their
// extra inputs and the call.

// attnDims names the shape of an input of a linear-attention op.
type attnDims int

const (
	dimsQ   attnDims = iota // [B,T,H,K]
	dimsV                   // [B,T,H,V]
	dimsBTH                 // [B,T,H]
)

// attnInput is one input tensor of a linear-attention op's run file.
type attnInput struct {
	name     string
	optional bool
	dims     attnDims
}

// attnRun is what a linear-attention op's record function gets: the inputs in the order listed
// (nil for an absent optional one), the initial state (or nil), the outputs, cu_seqlens (or nil),
// the scale (nil: the op's default) and the form the prefill entry point is to take.
type attnRun struct {
	x      []*gpu.Tensor
	h0     *gpu.Tensor
	o, fin *gpu.Tensor
	cu     *gpu.Tensor
	scale  *float32
	form   ops.Form
}

// parseForm reads the form parameter: auto (the default: the entry point picks), chunked or
// recurrent.
func parseForm(op string, p Params) (ops.Form, error) {
	switch f := p.String("form", "auto"); f {
	case "auto":
		return ops.FormAuto, nil
	case "chunked":
		return ops.FormChunked, nil
	case "recurrent":
		return ops.FormRecurrent, nil
	default:
		return 0, fmt.Errorf("%s: form=%q: want auto, chunked or recurrent", op, f)
	}
}

// runLinearAttn is the run adapter of a linear-attention op (its parameters already checked by
// the caller): it reads form and scale, the inputs listed (with initial_state and cu_seqlens),
// and records the op through record on one stream.
func runLinearAttn(d *gpu.Device, in *tensorio.File, p Params, op string, inputs []attnInput,
	record func(s *gpu.Stream, a attnRun) error) ([]tensorio.Tensor, error) {
	var a attnRun
	var err error
	if a.form, err = parseForm(op, p); err != nil {
		return nil, err
	}
	if _, ok := p["scale"]; ok {
		s, err := p.Float("scale", 0)
		if err != nil {
			return nil, err
		}
		s32 := float32(s)
		a.scale = &s32
	}
	names := []string{"initial_state", "cu_seqlens"}
	for _, x := range inputs {
		names = append(names, x.name)
	}
	if err := in.CheckKnown(names...); err != nil {
		return nil, err
	}
	qs, vs, n, cu, hasCu, err := linearAttnShapes(op, in)
	if err != nil {
		return nil, err
	}
	h, k := qs[2], qs[3]
	ts := NewTensors(d)
	defer ts.Close()
	a.x = make([]*gpu.Tensor, len(inputs))
	for i, x := range inputs {
		shape := map[attnDims][]int{dimsQ: qs, dimsV: vs, dimsBTH: qs[:3]}[x.dims]
		if x.optional {
			a.x[i], err = ssmOptional(ts, in, x.name, shape...)
		} else {
			a.x[i], err = ssmRequired(ts, in, x.name, shape...)
		}
		if err != nil {
			return nil, err
		}
	}
	if a.h0, err = ssmOptional(ts, in, "initial_state", n, h, k, vs[3]); err != nil {
		return nil, err
	}
	if hasCu {
		if a.cu, err = d.FromInt32(cu, len(cu)); err != nil {
			return nil, err
		}
		ts.list = append(ts.list, a.cu)
	}
	if a.o, err = ts.Output(gpu.F32, vs...); err != nil {
		return nil, err
	}
	if a.fin, err = ts.Output(gpu.F32, n, h, k, vs[3]); err != nil {
		return nil, err
	}
	err = RunStream(d, func(s *gpu.Stream) error { return record(s, a) })
	if err != nil {
		return nil, err
	}
	return ssmOutputs([]string{"o", "final_state"}, a.o, a.fin)
}

// linearAttnShapes reads the shapes shared by the linear-attention ops' files: q [B,T,H,K],
// v [B,T,H,V], and optional cu_seqlens [N+1] (validated); n is the number of sequences.
func linearAttnShapes(op string, in *tensorio.File) (qs, vs []int, n int, cu []int32, hasCu bool, err error) {
	if _, err = in.Float32("q", tensorio.Any, tensorio.Any, tensorio.Any, tensorio.Any); err != nil {
		return
	}
	qs, _ = in.Shape("q")
	if _, err = in.Float32("v", qs[0], qs[1], qs[2], tensorio.Any); err != nil {
		return
	}
	vs, _ = in.Shape("v")
	n = qs[0]
	if cu, hasCu, err = in.OptionalInt32("cu_seqlens", tensorio.Any); err != nil || !hasCu {
		return
	}
	if _, err = reference.ValidateCuSeqlens(cu, qs[0], qs[1]); err != nil {
		err = fmt.Errorf("%s: cu_seqlens: %w", op, err)
		return
	}
	n = len(cu) - 1
	return
}
