package ops

import (
	"slices"

	"github.com/vkseq/vkseq/gpu"
)

const lnName = "layernorm"

// lnTexel lets CPU devices take layernorm_t (C a multiple of 4: texel-buffer reads, a subgroup per
// row); tests turn it off to cover both kernels.
var lnTexel = true

// LayerNorm records torch.nn.functional.layer_norm over the last dimension C of x [..., C] (F32):
// out = (x − mean) / sqrt(var + eps) · weight + bias, var the biased variance of the row. weight
// and bias [C] are both given or both nil (no affine step). eps must be finite and ≥ 0. out has
// x's shape and may alias x.
func LayerNorm(s *gpu.Stream, out, x, weight, bias *gpu.Tensor, eps float32) error {
	r, c, err := rowsLayout(lnName, x)
	if err != nil {
		return err
	}
	if err := checkTensor(lnName, "out", out, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	if (weight == nil) != (bias == nil) {
		return shapeErr(lnName, "weight and bias must both be given or both be nil")
	}
	affine := uint32(0)
	if weight != nil {
		if err := checkTensor(lnName, "weight", weight, gpu.F32, c); err != nil {
			return err
		}
		if err := checkTensor(lnName, "bias", bias, gpu.F32, c); err != nil {
			return err
		}
		affine = 1
	} else {
		weight, bias = x, x
	}
	if !(eps >= 0) || eps > 3.4e38 {
		return shapeErr(lnName, "eps = %v, want finite and ≥ 0", eps)
	}
	if r == 0 {
		return nil
	}
	d := s.Device()
	info := d.Info()
	// One workgroup per row: layernorm_t (a subgroup, texel reads) on CPU devices, else layernorm.
	name, access, local := lnName, []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Write}, uint32(rowsLocal(info, c))
	if lnTexel && c%4 == 0 && cpuTiles(info) && info.SubgroupSize > 0 && slices.Contains(info.SubgroupOps, "arithmetic") &&
		texelBindable(x, weight, bias) {
		T := gpu.Read | gpu.Texel
		name, access, local = "layernorm_t", []gpu.Access{T, T, T, gpu.Write}, info.SubgroupSize
	}
	k, err := kernel(d, name, access, 16, local)
	if err != nil {
		return err
	}
	groups, err := group1D(d, r, 1)
	if err != nil {
		return err
	}
	return s.Dispatch(k, groups, gpu.Push(uint32(r), uint32(c), eps, affine), x, weight, bias, out)
}
