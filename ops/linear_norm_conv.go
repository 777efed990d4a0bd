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
}

// LinearRMSNormConvFolded records LinearRMSNorm (out [M, N], see there) followed by conv's step
// on out[:, :D] (D ≤ N), as one dispatch where LinearRMSNormFolded folds the norm, and reports
// true: Mamba's decode step, where in_proj's x part goes through the causal conv1d. Elsewhere it
// records nothing and reports false (the caller then records LinearRMSNorm and
// CausalConv1DUpdate). out still receives every column of the product. Bad arguments are errors
// either way. conv.State is read and written, conv.Out written; nothing else of conv is modified.
func LinearRMSNormConvFolded(s *gpu.Stream, out *gpu.Tensor, in NormedRows, weight, bias *gpu.Tensor, conv ConvStep) (bool, error) {
	const op = "linear_rmsnorm_conv"
	m, n, k, err := checkNormedRows(s, out, in, weight, bias)
	if err != nil {
		return false, err
	}
	w := conv.Weight
	if w == nil || len(w.Shape()) != 2 {
		return false, shapeErr(op, "conv.Weight is %v, want f32 [D, W]", shapeOf(w))
	}
	dd, wk := w.Shape()[0], w.Shape()[1]
	if dd < 1 || dd > n || wk < 2 || wk > maxConvWidth {
		return false, shapeErr(op, "conv.Weight is %v, want [D, W] with 1 ≤ D ≤ N = %d and 2 ≤ W ≤ %d", w.Shape(), n, maxConvWidth)
	}
	if err := checkTensor(op, "conv.Weight", w, gpu.F32, dd, wk); err != nil {
		return false, err
	}
	if conv.Bias != nil {
		if err := checkTensor(op, "conv.Bias", conv.Bias, gpu.F32, dd); err != nil {
			return false, err
		}
	}
	if err := checkTensor(op, "conv.State", conv.State, gpu.F32, m, dd, wk-1); err != nil {
		return false, err
	}
	if err := checkTensor(op, "conv.Out", conv.Out, gpu.F32, m, dd); err != nil {
		return false, err
	}
	ts := []*gpu.Tensor{out, in.Residual, in.Add, in.Weight, in.ResidualOut, in.Normed, weight, bias, w, conv.Bias}
	for _, t := range ts {
		if t != nil && (t == conv.State || t == conv.Out) {
			return false, shapeErr(op, "conv.State and conv.Out must not alias the other operands")
		}
	}
	if conv.State == conv.Out {
		return false, shapeErr(op, "conv.State and conv.Out must be distinct tensors")
	}
	if err := sameDevice(op, s, conv.State, conv.Out, w, conv.Bias); err != nil {
		return false, err
	}
	if m == 0 {
		return true, nil
	}
	return linearRMSNormFold(s, out, in, weight, bias, &conv, m, n, k)
}
