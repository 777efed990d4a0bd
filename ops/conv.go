package ops

import (
	"github.com/vkseq/vkseq/gpu"
)

// Conv1DOptions are the options of Conv1D.
type Conv1DOptions struct {
	// Padding is the number of zeros on each side of the signal (torch's padding=int);
	// Lout = L + 2·Padding − K + 1 must be ≥ 1.
	Padding int
	// TimeMajor writes out [B, Lout, Cout] (the layout a following LayerNorm or linear layer
	// reads) instead of PyTorch's [B, Cout, Lout].
	TimeMajor bool
	// Im2Col computes the convolution as im2col (a [B·Lout, Cin·K] scratch of the stream) and
	// GEMM instead of the direct kernel (TimeMajor only). Both give the same result to rounding.
	// On lavapipe im2col is much faster: Vocos's embedding (1×100×938 → 512, K 7) took 525 ms
	// against the direct kernel's 9508 ms (vkbench bench -op conv1d, median of 3, machine under
	// load), whose two barriers per (tap, channel chunk) are costly on a CPU device.
	Im2Col bool
}

// conv1dDenseTile is the direct kernel's tile: time × output channels.
const conv1dDenseT, conv1dDenseC = 16, 16

const convName = "conv1d"

// Conv1D records torch.nn.functional.conv1d with stride 1, dilation 1, groups 1 and zero padding:
// out[b, co, t] = bias[co] + Σ_{ci,k} weight[co, ci, k] · x[b, ci, t + k − Padding], x [B, Cin, L],
// weight [Cout, Cin, K] (any K ≥ 1), bias [Cout] or nil, out [B, Cout, Lout] ([B, Lout, Cout]
// with TimeMajor), Lout = L + 2·Padding − K + 1. All F32. x is not modified; out must not alias x.
func Conv1D(s *gpu.Stream, out, x, weight, bias *gpu.Tensor, opt Conv1DOptions) error {
	if s == nil {
		return shapeErr(convName, "stream is nil")
	}
	if x == nil || len(x.Shape()) != 3 {
		return shapeErr(convName, "x has shape %v, want [B, Cin, L]", shapeOf(x))
	}
	xs := x.Shape()
	b, cin, l := xs[0], xs[1], xs[2]
	if err := checkTensor(convName, "x", x, gpu.F32, xs...); err != nil {
		return err
	}
	if weight == nil || len(weight.Shape()) != 3 || weight.Shape()[1] != cin || weight.Shape()[2] < 1 {
		return shapeErr(convName, "weight has shape %v, want [Cout, Cin=%d, K≥1]", shapeOf(weight), cin)
	}
	ws := weight.Shape()
	cout, k := ws[0], ws[2]
	if err := checkTensor(convName, "weight", weight, gpu.F32, ws...); err != nil {
		return err
	}
	bias, hasB, lout, err := convBiasLen(convName, weight, bias, cout, l, k, opt.Padding)
	if err != nil {
		return err
	}
	oshape := []int{b, cout, lout}
	if opt.TimeMajor {
		oshape = []int{b, lout, cout}
	}
	if err := checkTensor(convName, "out", out, gpu.F32, oshape...); err != nil {
		return err
	}
	if b == 0 || cout == 0 || cin == 0 {
		if cin == 0 && b*cout > 0 {
			return shapeErr(convName, "Cin = 0")
		}
		return nil
	}
	d := s.Device()
	if opt.Im2Col {
		if !opt.TimeMajor {
			return shapeErr(convName, "Im2Col needs TimeMajor (the GEMM writes [B·Lout, Cout])")
		}
		return conv1dIm2Col(s, out, x, weight, bias, hasB, b, cin, l, cout, k, lout, opt)
	}
	kern, err := kernel(d, "conv1d_dense", []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Write}, 28,
		conv1dDenseT, conv1dDenseC, b2u(opt.TimeMajor))
	if err != nil {
		return err
	}
	info := d.Info()
	groups := [3]uint32{uint32(ceilDiv(lout, conv1dDenseT)), uint32(ceilDiv(cout, conv1dDenseC)), uint32(b)}
	for i, g := range groups {
		if g > info.MaxWorkgroupCount[i] {
			return shapeErr(convName, "grid %v exceeds the device's %v", groups, info.MaxWorkgroupCount)
		}
	}
	return s.Dispatch(kern, groups, gpu.Push(uint32(cin), uint32(cout), uint32(l), uint32(lout), uint32(k), uint32(opt.Padding), hasB), x, weight, bias, out)
}

func conv1dIm2Col(s *gpu.Stream, out, x, weight, bias *gpu.Tensor, hasB uint32, b, cin, l, cout, k, lout int, opt Conv1DOptions) error {
	d := s.Device()
	ck := cin * k
	cols, err := s.Temp(gpu.F32, b*lout, ck)
	if err != nil {
		return err
	}
	kern, err := kernel(d, "im2col", []gpu.Access{gpu.Read, gpu.Write}, 24, eltLocal)
	if err != nil {
		return err
	}
	groups, err := group1D(d, b*lout*ck, eltLocal)
	if err != nil {
		return err
	}
	if err := s.Dispatch(kern, groups, gpu.Push(uint32(b), uint32(cin), uint32(l), uint32(lout), uint32(k), uint32(opt.Padding)), x, cols); err != nil {
		return err
	}
	w2, err := weight.Reshape(cout, ck)
	if err != nil {
		return err
	}
	o2, err := out.Reshape(b*lout, cout)
	if err != nil {
		return err
	}
	if err := GEMM(s, o2, cols, w2, GEMMOptions{TransB: true}); err != nil {
		return err
	}
	if hasB == 0 {
		return nil
	}
	return AddBias(s, o2, o2, bias, false)
}

// convBiasLen checks the bias [c] (nil: none) and the padding of a stride-1 conv over l steps
// with kernel k, and returns the tensor to bind for the bias (weight stands in when there is
// none), the has-bias flag the shaders take, and the output length l + 2·padding − k + 1.
func convBiasLen(op string, weight, bias *gpu.Tensor, c, l, k, padding int) (*gpu.Tensor, uint32, int, error) {
	hasB := uint32(0)
	if bias != nil {
		if err := checkTensor(op, "bias", bias, gpu.F32, c); err != nil {
			return nil, 0, 0, err
		}
		hasB = 1
	} else {
		bias = weight
	}
	if padding < 0 {
		return nil, 0, 0, shapeErr(op, "padding = %d, want ≥ 0", padding)
	}
	lout := l + 2*padding - k + 1
	if lout < 1 {
		return nil, 0, 0, shapeErr(op, "L = %d with padding %d and kernel %d gives %d outputs, want ≥ 1", l, padding, k, lout)
	}
	return bias, hasB, lout, nil
}
