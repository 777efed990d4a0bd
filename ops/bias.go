package ops

import "github.com/vkseq/vkseq/gpu"

const (
	biasAdd   = 0
	biasGELU  = 1
	biasScale = 2
	biasLocal = 64
)

// AddBias records out = x + bias over the last dimension C of x [..., C] (F32; bias [C]), the
// epilogue of a linear layer; with gelu, out = GELU(x + bias) (exact erf GELU) in the same pass.
// bias may be nil (then only the GELU). out has x's shape and may alias x.
func AddBias(s *gpu.Stream, out, x, bias *gpu.Tensor, gelu bool) error {
	mode := biasAdd
	if gelu {
		mode = biasGELU
	}
	return biasEpilogue(s, "add_bias", mode, out, x, bias, nil, nil)
}

// ScaleResidual records out = res + gamma ⊙ (x + bias) over the last dimension C of x [..., C]
// (F32; bias and gamma [C], either may be nil; res has x's shape): a ConvNeXt block's layer scale
// and residual. out has x's shape and may alias x or res.
func ScaleResidual(s *gpu.Stream, out, res, x, bias, gamma *gpu.Tensor) error {
	if err := checkTensor("scale_residual", "res", res, gpu.F32, shapeOf(x)...); err != nil {
		return err
	}
	return biasEpilogue(s, "scale_residual", biasScale, out, x, bias, gamma, res)
}

func biasEpilogue(s *gpu.Stream, op string, mode int, out, x, bias, gamma, res *gpu.Tensor) error {
	r, c, err := rowsLayout(op, x)
	if err != nil {
		return err
	}
	if err := checkTensor(op, "out", out, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	hasB, hasG := uint32(0), uint32(0)
	if bias != nil {
		if err := checkTensor(op, "bias", bias, gpu.F32, c); err != nil {
			return err
		}
		hasB = 1
	} else {
		bias = x
	}
	if gamma != nil {
		if err := checkTensor(op, "gamma", gamma, gpu.F32, c); err != nil {
			return err
		}
		hasG = 1
	} else {
		gamma = x
	}
	if res == nil {
		res = x
	}
	n := r * c
	if n == 0 {
		return nil
	}
	d := s.Device()
	name, access, lanes := "bias", []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Write}, n
	// CPU devices: bias_t, 4 elements per invocation read through texel bindings.
	if biasTexel && c%4 == 0 && cpuTiles(d.Info()) && texelBindable(x, bias, gamma, res) {
		T := gpu.Read | gpu.Texel
		name, access, lanes = "bias_t", []gpu.Access{T, T, T, T, gpu.Write}, n/4
	}
	k, err := kernel(d, name, access, 16, biasLocal, uint32(mode))
	if err != nil {
		return err
	}
	groups, err := group1D(d, lanes, biasLocal)
	if err != nil {
		return err
	}
	return s.Dispatch(k, groups, gpu.Push(uint32(n), uint32(c), hasB, hasG), x, bias, gamma, res, out)
}

// biasTexel lets CPU devices take bias_t (C a multiple of 4); tests turn it off to compare.
var biasTexel = true
