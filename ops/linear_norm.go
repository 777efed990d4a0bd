package ops

import (
	"math"
	"slices"

	"github.com/vkseq/vkseq/gpu"
)

// NormedRows is the input of LinearRMSNorm: the rows x = rmsnorm(Residual + Add)·Weight of a
// pre-norm block, which LinearRMSNorm makes on the fly where it can instead of writing them out.
type NormedRows struct {
	// Residual [M, K] F32, not modified.
	Residual *gpu.Tensor
	// Add [M, K] F32 (the previous layer's output), or nil for none.
	Add *gpu.Tensor
	// Weight [K] F32, the norm's scale.
	Weight *gpu.Tensor
	// Eps is added to the mean square; finite and ≥ 0.
	Eps float32
	// ResidualOut [M, K] F32 receives Residual + Add when Add is not nil (unused otherwise). It must
	// be distinct from Residual and Add: the product is still reading Residual while it is written.
	ResidualOut *gpu.Tensor
	// Normed [M, K] F32 is scratch for devices where the norm cannot be folded into the product
	// (the rows are written there, then Linear runs); nil takes a stream temporary there.
	Normed *gpu.Tensor
}

// LinearRMSNorm records the pre-norm residual step of a block followed by its first projection,
// per row m:
//
//	v = Residual[m] (+ Add[m]);   ResidualOut[m] = v (when Add is not nil)
//	out[m, n] = Σ_k (v[k] / sqrt(mean(v²) + Eps) · Weight[k]) · weight[n, k] + bias[n]
//
// Shapes: in's tensors [M, K] F32 (Weight [K]); weight [N, K] F32 or F16; bias [N] F32 or nil; out
// [M, N] F32. On CPU devices with few rows and a float16 weight (decode) the norm is folded into
// the product's kernel (linear_gemv_norm_f16t: each workgroup recomputes its rows' mean squares, a
// pass over its MR·K floats, against NR·K halves of weight): one dispatch instead of AddRMSNorm's
// and Linear's. Elsewhere it records Copy, AddRMSNorm into in.Normed and Linear. Only out, ResidualOut
// and Normed are written.
func LinearRMSNorm(s *gpu.Stream, out *gpu.Tensor, in NormedRows, weight, bias *gpu.Tensor) error {
	if ok, err := LinearRMSNormFolded(s, out, in, weight, bias); ok || err != nil {
		return err
	}
	m, k := in.Residual.Shape()[0], in.Residual.Shape()[1]
	normed := in.Normed
	if normed == nil {
		var err error
		if normed, err = s.Temp(gpu.F32, m, k); err != nil {
			return err
		}
	} else if err := checkTensor("linear_rmsnorm", "in.Normed", normed, gpu.F32, m, k); err != nil {
		return err
	}
	res := in.Residual
	if in.Add != nil {
		if err := s.Copy(in.ResidualOut, res); err != nil {
			return err
		}
		res = in.ResidualOut
	}
	if err := AddRMSNorm(s, normed, res, in.Add, in.Weight, in.Eps); err != nil {
		return err
	}
	return Linear(s, out, normed, weight, bias)
}

// LinearRMSNormFolded records LinearRMSNorm as its one folded dispatch where the device and the
// shapes allow (see LinearRMSNorm) and reports true; otherwise it records nothing and reports
// false (a model then keeps its separate norm). Bad arguments are errors either way.
func LinearRMSNormFolded(s *gpu.Stream, out *gpu.Tensor, in NormedRows, weight, bias *gpu.Tensor) (bool, error) {
	m, n, k, err := checkNormedRows(s, out, in, weight, bias)
	if err != nil || m == 0 {
		return m == 0 && err == nil, err
	}
	return linearRMSNormFold(s, out, in, weight, bias, nil, m, n, k)
}

// linearRMSNormFold records linear_gemv_norm_f16t for checked arguments (and conv's step on its
// first columns when conv is not nil) where the device and shapes allow, else nothing.
func linearRMSNormFold(s *gpu.Stream, out *gpu.Tensor, in NormedRows, weight, bias *gpu.Tensor, conv *ConvStep, m, n, k int) (bool, error) {
	d := s.Device()
	info := d.Info()
	r := in.Residual
	if m >= linearGEMMRows || !normGEMVOK(info, weight, k, r, in.Add, in.Weight) {
		return false, nil
	}
	mr, nr := gemvPlanFor(info, weight.DType(), m, n).MR, gemvTexelNR(m, n)
	if m == 1 {
		nr = normNR
		for nr > 1 && ceilDiv(n, nr) < gemvMinGroups {
			nr /= 2
		}
	}
	// Without a conv step its bindings are dummies (the shader declares them either way).
	convW, convD, convBias := 0, 0, uint32(0)
	cw, cb, cst, cxc := r, r, r, r
	if conv != nil {
		convD, convW = conv.Weight.Shape()[0], conv.Weight.Shape()[1]
		cw, cst, cxc = conv.Weight, conv.State, conv.Out
		if conv.Bias != nil {
			cb, convBias = conv.Bias, 1
		}
	}
	kern, err := kernel(d, "linear_gemv_norm_f16t", normGEMVAccess, 52,
		info.SubgroupSize, uint32(mr), 1, uint32(nr), uint32(max(gemvTPL, 1)), uint32(convW))
	if err != nil {
		return true, err
	}
	hasBias, hasAdd := uint32(1), uint32(1)
	if bias == nil {
		bias, hasBias = r, 0
	}
	add, rout := in.Add, in.ResidualOut
	if add == nil {
		add, rout, hasAdd = r, out, 0
	}
	groups := [3]uint32{uint32(ceilDiv(n, nr)), uint32(ceilDiv(m, mr)), 1}
	push := gpu.Push(uint32(m), uint32(n), uint32(k), hasBias, 0, 0, 0, uint32(n), 0, in.Eps, hasAdd, uint32(convD), convBias)
	return true, s.Dispatch(kern, groups, push, r, weight, bias, out, add, in.Weight, rout, cw, cb, cst, cxc)
}

// checkNormedRows validates LinearRMSNorm's arguments and returns M, N and K.
func checkNormedRows(s *gpu.Stream, out *gpu.Tensor, in NormedRows, weight, bias *gpu.Tensor) (m, n, k int, err error) {
	const op = "linear_rmsnorm"
	r := in.Residual
	if r == nil || out == nil || weight == nil {
		return 0, 0, 0, shapeErr(op, "out, weight and in.Residual must not be nil")
	}
	rs := r.Shape()
	if len(rs) != 2 {
		return 0, 0, 0, shapeErr(op, "in.Residual is %v, want f32 [M, K]", r)
	}
	m, k = rs[0], rs[1]
	if err := checkTensor(op, "in.Residual", r, gpu.F32, m, k); err != nil {
		return 0, 0, 0, err
	}
	if err := checkTensor(op, "in.Weight", in.Weight, gpu.F32, k); err != nil {
		return 0, 0, 0, err
	}
	if in.Add != nil {
		if err := checkTensor(op, "in.Add", in.Add, gpu.F32, m, k); err != nil {
			return 0, 0, 0, err
		}
		if err := checkTensor(op, "in.ResidualOut", in.ResidualOut, gpu.F32, m, k); err != nil {
			return 0, 0, 0, err
		}
		if in.ResidualOut == r || in.ResidualOut == in.Add || in.Add == r {
			return 0, 0, 0, shapeErr(op, "in.Residual, in.Add and in.ResidualOut must be distinct tensors")
		}
	}
	if !(in.Eps >= 0) || math.IsInf(float64(in.Eps), 0) {
		return 0, 0, 0, shapeErr(op, "in.Eps = %v, want a finite value ≥ 0", in.Eps)
	}
	ws := weight.Shape()
	if len(ws) != 2 || ws[1] != k || ws[0] < 1 {
		return 0, 0, 0, shapeErr(op, "weight is %v, want [N, %d] (K of in.Residual %v)", weight, k, rs)
	}
	n = ws[0]
	if err := checkTensor(op, "out", out, gpu.F32, m, n); err != nil {
		return 0, 0, 0, err
	}
	if bias != nil {
		if err := checkTensor(op, "bias", bias, gpu.F32, n); err != nil {
			return 0, 0, 0, err
		}
	}
	for _, t := range []*gpu.Tensor{r, in.Add, in.Weight, in.ResidualOut, in.Normed} {
		if t != nil && t == out {
			return 0, 0, 0, shapeErr(op, "out aliases an input or the residual output")
		}
	}
	if err := sameDevice(op, s, out, r, in.Add, in.Weight, in.ResidualOut, in.Normed, weight, bias); err != nil {
		return 0, 0, 0, err
	}
	if _, err := weightModule(op, "weight", "linear_gemv", weight); err != nil {
		return 0, 0, 0, err
	}
	return m, n, k, nil
}

var normGEMVAccess = []gpu.Access{gpu.Read | gpu.Texel, gpu.Read | gpu.Texel, gpu.Read, gpu.Write,
	gpu.Read | gpu.Texel, gpu.Read | gpu.Texel, gpu.Write, gpu.Read, gpu.Read, gpu.ReadWrite, gpu.Write}

// normGEMVOK reports whether LinearRMSNorm folds the norm into linear_gemv_norm_f16t: Linear's
// texel GEMV conditions (gemvTexelOK) with the whole weight in one binding, K a multiple of 8 and
// the norm's inputs bindable as texel buffers.
func normGEMVOK(info gpu.DeviceInfo, weight *gpu.Tensor, k int, ts ...*gpu.Tensor) bool {
	return normFold && gemvTexel && weight.DType() == gpu.F16 && cpuTiles(info) && info.SubgroupSize > 0 &&
		slices.Contains(info.SubgroupOps, "arithmetic") && k%8 == 0 && k >= 8*int(info.SubgroupSize)*max(gemvTPL, 1) &&
		weight.Bytes() <= bindRange(weight.Device()) && weight.TexelBindable() && texelBindable(ts...)
}

// normFold lets LinearRMSNorm fold the norm into the product (tests turn it off to compare).
var normFold = true

// normNR is linear_gemv_norm_f16t's weight rows per workgroup for one row of x, halved until the
// rows make gemvMinGroups workgroups: the mean square and the making of x are paid once per
// workgroup, so more rows than linear_gemv_f16t's 16 pay. mamba-130m's folded in_proj per token
// (TestDecodeProfile, lavapipe) with 16/32/64/128 rows: 12.9/11.5/10.6/11.8 ms.
const normNR = 64
