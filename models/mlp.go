package models

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// SwiGLUMLP is the gated MLP of fla (GatedMLP) and Llama-style models:
//
//	out = down( silu(gate(x)) ⊙ up(x) )
//
// with no biases. GateUp [2I, H] holds the gate rows then the up rows, so one Linear computes both
// ([M, 2I]) and SwiGLU reads the two halves in place; it is the older fla checkpoints' fused
// gate_proj as stored, or gate_proj and up_proj stacked at load. Down is [H, I]. Weights are F32 or
// F16. It implements Layer: x F32 [M, H] (or [B, T, H]) → out of x's shape.
type SwiGLUMLP struct {
	GateUp, Down  *gpu.Tensor
	Hidden, Inter int
}

// LoadSwiGLUMLP reads an fla GatedMLP under prefix (e.g. "model.layers.0.mlp."): gate_proj.weight
// [I, H] and up_proj.weight [I, H], or the older fused gate_proj.weight [2I, H] (rows [0, I) the
// gate, [I, 2I) the up projection, as its chunk(2, -1)) when up_proj is absent; down_proj.weight
// [H, I]. Matrices are stored as dt.
func LoadSwiGLUMLP(d *gpu.Device, w Weights, dt gpu.DType, prefix string, hidden, inter int) (*SwiGLUMLP, error) {
	var gu []float32
	if w.Has(prefix + "up_proj.weight") {
		g, err := w.Float32(prefix+"gate_proj.weight", inter, hidden)
		if err != nil {
			return nil, err
		}
		u, err := w.Float32(prefix+"up_proj.weight", inter, hidden)
		if err != nil {
			return nil, err
		}
		gu = append(append(make([]float32, 0, 2*inter*hidden), g...), u...)
	} else {
		var err error
		if gu, err = w.Float32(prefix+"gate_proj.weight", 2*inter, hidden); err != nil {
			return nil, fmt.Errorf("%w (no up_proj.weight: the older fused gate_proj [2I, H] is expected)", err)
		}
	}
	m := &SwiGLUMLP{Hidden: hidden, Inter: inter}
	var err error
	if m.GateUp, err = d.FromFloats(dt, gu, 2*inter, hidden); err != nil {
		return nil, fmt.Errorf("models: uploading %sgate_proj: %w", prefix, err)
	}
	if m.Down, err = Upload(d, w, dt, prefix+"down_proj.weight", hidden, inter); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Forward implements Layer. Scratch keys: "mlp.gu" [M, 2I], "mlp.act" [M, I].
func (m *SwiGLUMLP) Forward(s *gpu.Stream, sc *Scratch, out, x *gpu.Tensor) error {
	_, err := m.forward(s, sc, out, stepIn{x: x}, x.Shape())
	return err
}

// ForwardNormed implements NormedForwarder for rows [M, H] (decode).
func (m *SwiGLUMLP) ForwardNormed(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in ops.NormedRows) (bool, error) {
	if in.Residual == nil {
		return false, fmt.Errorf("%w: mlp: no residual rows", ErrInput)
	}
	return m.forward(s, sc, out, stepIn{norm: &in}, in.Residual.Shape())
}

// forward records the MLP over in's rows (x's shape sh); false: the norm could not be folded and
// nothing was recorded.
func (m *SwiGLUMLP) forward(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in stepIn, sh []int) (bool, error) {
	rows := 1
	for _, v := range sh[:len(sh)-1] {
		rows *= v
	}
	gu, err := sc.Get("mlp.gu", gpu.F32, rows, 2*m.Inter)
	if err != nil {
		return false, err
	}
	// act has x's leading dimensions ([B, T] or [B]) so that down_proj writes out of x's shape.
	sh = append([]int(nil), sh...)
	sh[len(sh)-1] = m.Inter
	act, err := sc.Get("mlp.act", gpu.F32, sh...)
	if err != nil {
		return false, err
	}
	if ok, err := in.project(s, gu, m.GateUp, nil); !ok || err != nil {
		if err != nil {
			err = fmt.Errorf("models: mlp gate/up: %w", err)
		}
		return false, err
	}
	if err := ops.SwiGLU(s, act, ops.Cols(gu, 0, m.Inter), ops.Cols(gu, m.Inter, m.Inter)); err != nil {
		return true, fmt.Errorf("models: mlp swiglu: %w", err)
	}
	if err := ops.Linear(s, out, act, m.Down, nil); err != nil {
		return true, fmt.Errorf("models: mlp down: %w", err)
	}
	return true, nil
}

// Weights lists the weight tensors (for the Decoder's parameter and byte counts).
func (m *SwiGLUMLP) Weights() []*gpu.Tensor { return []*gpu.Tensor{m.GateUp, m.Down} }

// Close frees the weights.
func (m *SwiGLUMLP) Close() error { return flaClose(m.GateUp, m.Down) }
