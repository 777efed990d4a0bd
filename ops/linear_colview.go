package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// ColView names the columns [Start, Start+N) of a row-major tensor T viewed as [M, C] (C its last
// dimension, M the product of the others) without a copy: the parts of a fused projection
// (Mamba-2's in_proj output [M, z|xBC|dt], a fused gate_proj [M, 2I]) read in place by the ops that
// take a ColView. Row m, column j of the view is element m·C + Start + j of T.
type ColView struct {
	T        *gpu.Tensor
	Start, N int
}

// Cols returns the view of columns [start, start+n) of t; Validated by the op that reads it.
func Cols(t *gpu.Tensor, start, n int) ColView { return ColView{T: t, Start: start, N: n} }

// Whole returns the view of every column of t.
func Whole(t *gpu.Tensor) ColView {
	if t == nil {
		return ColView{}
	}
	sh := t.Shape()
	if len(sh) == 0 {
		return ColView{T: t}
	}
	return ColView{T: t, N: sh[len(sh)-1]}
}

// Whole returns the view of every column of t (the same as the package function Whole).
func (ColView) Whole(t *gpu.Tensor) ColView { return Whole(t) }

// layout checks the view against dtype dt and returns its rows M and the row stride C of T.
func (v ColView) layout(op, name string, dt gpu.DType) (m, stride int, err error) {
	if v.T == nil {
		return 0, 0, shapeErr(op, "%s is nil", name)
	}
	if v.T.DType() != dt {
		return 0, 0, shapeErr(op, "%s has dtype %v, want %v", name, v.T.DType(), dt)
	}
	sh := v.T.Shape()
	if len(sh) == 0 {
		return 0, 0, shapeErr(op, "%s is a scalar, want [..., C]", name)
	}
	stride = sh[len(sh)-1]
	if v.Start < 0 || v.N < 1 || v.Start+v.N > stride {
		return 0, 0, shapeErr(op, "%s: columns [%d, %d) of a tensor of shape %v, want 0 ≤ Start < Start+N ≤ %d and N ≥ 1",
			name, v.Start, v.Start+v.N, sh, stride)
	}
	if stride == 0 {
		return 0, stride, nil
	}
	return v.T.Len() / stride, stride, nil
}

// weightModule returns the shader module for a table or weight of dtype F32 (base) or F16
// (base + "_f16", which needs 16-bit storage).
func weightModule(op, name, base string, t *gpu.Tensor) (string, error) {
	switch t.DType() {
	case gpu.F32:
		return base, nil
	case gpu.F16:
		if info := t.Device().Info(); !info.Float16Storage {
			return "", fmt.Errorf("%w: %s: an f16 %s needs 16-bit storage, which %s lacks (use f32)", gpu.ErrUnsupported, op, name, info.Name)
		}
		return f16Modules[base], nil
	}
	return "", shapeErr(op, "%s has dtype %v, want f32 or f16", name, t.DType())
}

// f16Modules names the float16 module of each float32 one (constant strings: no allocation per op).
var f16Modules = map[string]string{"linear_gemv": "linear_gemv_f16", "embedding": "embedding_f16"}

// sameDevice checks that every non-nil tensor lives on s's device.
func sameDevice(op string, s *gpu.Stream, ts ...*gpu.Tensor) error {
	for _, t := range ts {
		if t != nil && t.Device() != s.Device() {
			return shapeErr(op, "a tensor of another device")
		}
	}
	return nil
}
