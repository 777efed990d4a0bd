package models

import (
	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// NormedStepper is implemented by the Mixers (and MLP layers) whose decode step can start from the
// block's un-normalised residual stream: the block's RMSNorm, and the residual add before it, are
// folded into the step's first projection (ops.LinearRMSNormFolded), one dispatch instead of two.
// StepNormed does what AddRMSNorm(in) followed by Step would do, except that the updated residual
// goes to in.ResidualOut (in.Residual is not modified). It reports false, having recorded nothing,
// where it cannot fold for these tensors on this device; the Decoder then runs the two steps.
type NormedStepper interface {
	StepNormed(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in ops.NormedRows, state []*gpu.Tensor) (bool, error)
}

// NormedForwarder is NormedStepper for a stateless Layer (the SwiGLU MLP): ForwardNormed does what
// AddRMSNorm(in) followed by Forward would do, with the updated residual in in.ResidualOut.
type NormedForwarder interface {
	ForwardNormed(s *gpu.Stream, sc *Scratch, out *gpu.Tensor, in ops.NormedRows) (bool, error)
}

// stepIn is the input of a decode step's first projection: rows x already normalised, or (norm not
// nil) the rows of the block's residual stream whose RMSNorm the projection folds in.
type stepIn struct {
	x    *gpu.Tensor
	norm *ops.NormedRows
}

// rows is the number of input rows (the batch of a decode step).
func (in stepIn) rows() int {
	if in.norm != nil {
		return in.norm.Residual.Shape()[0]
	}
	return in.x.Shape()[0]
}

// project records out = x · wᵀ + b, x being in's rows normalised. With a norm to fold it reports
// false, having recorded nothing, where the fold is not possible.
func (in stepIn) project(s *gpu.Stream, out, w, b *gpu.Tensor) (bool, error) {
	if in.norm != nil {
		return ops.LinearRMSNormFolded(s, out, *in.norm, w, b)
	}
	return true, ops.Linear(s, out, in.x, w, b)
}
