package ops

import (
	"github.com/vkseq/vkseq/gpu"
)

// ConvStep is the causal conv1d decode step that LinearRMSNormConvFolded runs on the first D
// columns of its product: CausalConv1DUpdate with SiLU for one new step, x being those columns.
type ConvStep struct {
	// State [M, D, W−1] F32, the last W−1 inputs per channel (oldest first), updated in place.
	State *gpu.Tensor
	// Weight [D, W] F32, 2 ≤ W ≤ 8.
	Weight *gpu.Tensor
	// Bias [D] F32, or nil for none.
	Bias *gpu.Tensor
	// Out [M, D] F32 receives silu(Bias + Σ_k Weight[:, k] · window[:, k]).
	Out *gpu.Tensor

	// Proj [P, D] F16 (F32 is accepted and never folded), or nil for none: a projection of Out
	// (Mamba's x_proj) that rides in the same dispatch where it can (see LinearRMSNormConvFolded):
	// ProjOut[m, :] = Proj · Out[m, :].
	Proj *gpu.Tensor
	// ProjOut [M, P] F32 receives the projection (only when it is folded).
	ProjOut *gpu.Tensor
	// ProjWork F32 with at least ConvProjWorkLen(D, P) elements holds the projection's partial sums
	// and a counter. It must be all zero before its first use (Stream.Fill); every call leaves its
	// counter at zero again, so one ProjWork serves any number of calls on streams that run one
	// after the other (not concurrently).
	ProjWork *gpu.Tensor
}

// ConvProjWorkLen is the length of ConvStep.ProjWork for a conv over D channels projected to P
// outputs: room for the partial sums of up to ⌈D/8⌉ workgroups and the counter.
func ConvProjWorkLen(d, p int) int { return ceilDiv(d, 8)*p + 4 }

// LinearRMSNormConvFolded records LinearRMSNorm (out [M, N], see there) followed by conv's step
// on out[:, :D] (D ≤ N), as one dispatch where LinearRMSNormFolded folds the norm, and reports
// folded: Mamba's decode step, where in_proj's x part goes through the causal conv1d. Elsewhere it
// records nothing and reports false (the caller then records LinearRMSNorm and
// CausalConv1DUpdate). out still receives every column of the product. With conv.Proj set, the
// same dispatch also projects conv.Out into conv.ProjOut where it can: one row (M = 1), D a
// multiple of 8, the device's workgroups owning multiples of 8 columns. projected reports whether
// it did (the caller otherwise records the projection itself). The workgroups that own the first D
// columns each write their partial sums to conv.ProjWork; the last of them adds them up (mamba-130m
// decodes with 75 dispatches per token instead of 99). Bad arguments are errors either way.
// conv.State is read and written, conv.Out, conv.ProjOut and conv.ProjWork written; nothing else
// of conv is modified.
func LinearRMSNormConvFolded(s *gpu.Stream, out *gpu.Tensor, in NormedRows, weight, bias *gpu.Tensor, conv ConvStep) (folded, projected bool, err error) {
	folded, projected, err = linearRMSNormConv(s, out, in, weight, bias, conv)
	return folded, folded && projected, err
}

func linearRMSNormConv(s *gpu.Stream, out *gpu.Tensor, in NormedRows, weight, bias *gpu.Tensor, conv ConvStep) (bool, bool, error) {
	const op = "linear_rmsnorm_conv"
	m, n, k, err := checkNormedRows(s, out, in, weight, bias)
	if err != nil {
		return false, false, err
	}
	w := conv.Weight
	if w == nil || len(w.Shape()) != 2 {
		return false, false, shapeErr(op, "conv.Weight is %v, want f32 [D, W]", shapeOf(w))
	}
	dd, wk := w.Shape()[0], w.Shape()[1]
	if dd < 1 || dd > n || wk < 2 || wk > maxConvWidth {
		return false, false, shapeErr(op, "conv.Weight is %v, want [D, W] with 1 ≤ D ≤ N = %d and 2 ≤ W ≤ %d", w.Shape(), n, maxConvWidth)
	}
	if err := checkTensor(op, "conv.Weight", w, gpu.F32, dd, wk); err != nil {
		return false, false, err
	}
	if conv.Bias != nil {
		if err := checkTensor(op, "conv.Bias", conv.Bias, gpu.F32, dd); err != nil {
			return false, false, err
		}
	}
	if err := checkTensor(op, "conv.State", conv.State, gpu.F32, m, dd, wk-1); err != nil {
		return false, false, err
	}
	if err := checkTensor(op, "conv.Out", conv.Out, gpu.F32, m, dd); err != nil {
		return false, false, err
	}
	ts := []*gpu.Tensor{out, in.Residual, in.Add, in.Weight, in.ResidualOut, in.Normed, weight, bias, w, conv.Bias}
	for _, t := range ts {
		if t != nil && (t == conv.State || t == conv.Out) {
			return false, false, shapeErr(op, "conv.State and conv.Out must not alias the other operands")
		}
	}
	if conv.State == conv.Out {
		return false, false, shapeErr(op, "conv.State and conv.Out must be distinct tensors")
	}
	if err := sameDevice(op, s, conv.State, conv.Out, w, conv.Bias); err != nil {
		return false, false, err
	}
	if conv.Proj != nil {
		if err := checkConvProj(s, conv, m, dd, ts); err != nil {
			return false, false, err
		}
	}
	if m == 0 {
		return true, conv.Proj != nil, nil
	}
	return linearRMSNormFold(s, out, in, weight, bias, &conv, m, n, k)
}

// checkConvProj validates conv's projection operands (conv.Proj not nil) for M rows of D channels;
// others are the tensors they must not alias.
func checkConvProj(s *gpu.Stream, conv ConvStep, m, dd int, others []*gpu.Tensor) error {
	const op = "linear_rmsnorm_conv"
	ps := conv.Proj.Shape()
	if len(ps) != 2 || ps[0] < 1 || ps[1] != dd {
		return shapeErr(op, "conv.Proj is %v, want [P, %d] (D of conv.Weight)", shapeOf(conv.Proj), dd)
	}
	p := ps[0]
	if dt := conv.Proj.DType(); dt != gpu.F16 && dt != gpu.F32 {
		return shapeErr(op, "conv.Proj has dtype %v, want f16 (or f32, which is not folded)", dt)
	}
	if err := checkTensor(op, "conv.ProjOut", conv.ProjOut, gpu.F32, m, p); err != nil {
		return err
	}
	w := conv.ProjWork
	if w == nil || w.DType() != gpu.F32 || w.Len() < ConvProjWorkLen(dd, p) {
		return shapeErr(op, "conv.ProjWork is %v, want f32 with at least %d elements (ConvProjWorkLen(%d, %d))", shapeOf(w), ConvProjWorkLen(dd, p), dd, p)
	}
	if conv.ProjOut == w {
		return shapeErr(op, "conv.ProjOut and conv.ProjWork must be distinct tensors")
	}
	for _, t := range append(others, conv.State, conv.Out) {
		if t != nil && (t == conv.ProjOut || t == w) {
			return shapeErr(op, "conv.ProjOut and conv.ProjWork must not alias the other operands")
		}
	}
	return sameDevice(op, s, conv.Proj, conv.ProjOut, w)
}
