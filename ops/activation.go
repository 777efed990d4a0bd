package ops

import (
	"math"

	"github.com/vkseq/vkseq/gpu"
)

const (
	actLogSigmoid   = 0
	actSoftplusBias = 1
)

// LogSigmoid records out = logsigmoid(x) / divisor element-wise (GLA's gate
// logsigmoid(gk) / gate_logit_normalizer), with logsigmoid(v) = min(v, 0) − log(1 + e^−|v|).
// x and out F32 of one shape; out may alias x. divisor must be finite and non-zero.
func LogSigmoid(s *gpu.Stream, out, x *gpu.Tensor, divisor float32) error {
	const op = "logsigmoid"
	if divisor == 0 || math.IsNaN(float64(divisor)) || math.IsInf(float64(divisor), 0) {
		return shapeErr(op, "divisor = %v, want a finite non-zero value", divisor)
	}
	return activation(s, op, actLogSigmoid, out, x, nil, divisor)
}

// SoftplusBias records out = softplus(x + bias[c]) over the last dimension c of x (Mamba's
// dt = softplus(dt + dt_bias)), softplus as Unary's (x itself above 20). x [..., D] and out F32 of
// one shape, bias [D] F32; out may alias x.
func SoftplusBias(s *gpu.Stream, out, x, bias *gpu.Tensor) error {
	const op = "softplus_bias"
	if x == nil || len(x.Shape()) == 0 {
		return shapeErr(op, "x is nil or a scalar, want [..., D]")
	}
	sh := x.Shape()
	if err := checkTensor(op, "bias", bias, gpu.F32, sh[len(sh)-1]); err != nil {
		return err
	}
	return activation(s, op, actSoftplusBias, out, x, bias, 0)
}

func activation(s *gpu.Stream, op string, fn int, out, x, bias *gpu.Tensor, div float32) error {
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	if err := checkTensor(op, "x", x, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	if err := checkTensor(op, "out", out, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	if err := sameDevice(op, s, out, x, bias); err != nil {
		return err
	}
	n := x.Len()
	if n == 0 {
		return nil
	}
	dim := 1
	if sh := x.Shape(); len(sh) > 0 {
		dim = max(sh[len(sh)-1], 1)
	}
	if bias == nil {
		bias = x
	}
	d := s.Device()
	k, err := kernel(d, "activation", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 12, eltLocal, uint32(fn), b2u(dim%4 == 0))
	if err != nil {
		return err
	}
	if ceilDiv(dim, 4*eltLocal) > int(d.Info().MaxWorkgroupCount[0]) {
		return shapeErr(op, "rows of %d elements exceed the device's grid", dim)
	}
	return s.Dispatch(k, rowGrid(d, dim, n/dim), gpu.Push(uint32(n/dim), uint32(dim), div), x, bias, out)
}
