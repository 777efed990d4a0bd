package ops

import "github.com/vkseq/vkseq/gpu"

// DepthwiseConv1DOptions are the options of DepthwiseConv1D.
type DepthwiseConv1DOptions struct {
	// Padding is the number of zeros on each side (Vocos: 3 for K = 7, "same" length);
	// Lout = L + 2·Padding − K + 1 must be ≥ 1.
	Padding int
	// ChannelsLast takes x [B, L, C] and writes out [B, Lout, C]; otherwise PyTorch's
	// [B, C, L] and [B, C, Lout].
	ChannelsLast bool
}

const dwName = "depthwise_conv1d"

// dwTexel lets CPU devices take dwconv_t (channels last, C a multiple of 4: texel-buffer reads, 4
// channels × dwTT outputs per invocation); tests turn it off to cover both kernels.
var dwTexel = true

// dwTT is dwconv_t's outputs per invocation when it loops over the taps at run time; dwTTFixed
// when the taps are a build-time constant (k ≤ dwMaxFixedK), where each invocation loads its
// weights once and slides over its inputs, sharing each input fetch among the outputs it feeds.
// Measured on lavapipe at x [1, 938, 512], 7 taps: 1.5-1.6 ms with the tap loop, 0.53-0.85 ms
// slid over 16 outputs; Vocos's eight depthwise convs on 10 s of audio 16.5 → 6.3 ms.
// dwTTFixed and dwMaxFixedK are the shader's TTF and MAXK.
const (
	dwTT        = 4
	dwTTFixed   = 16
	dwMaxFixedK = 8
)

// DepthwiseConv1D records torch's Conv1d(C, C, K, padding=Padding, groups=C) (non-causal, stride 1,
// zero padding): out[b, c, t] = bias[c] + Σ_k weight[c, k] · x[b, c, t + k − Padding], weight [C, K]
// (torch's [C, 1, K] reshaped; any K ≥ 1), bias [C] or nil; layouts as DepthwiseConv1DOptions.
// All F32. x is not modified; out must not alias x.
func DepthwiseConv1D(s *gpu.Stream, out, x, weight, bias *gpu.Tensor, opt DepthwiseConv1DOptions) error {
	if s == nil {
		return shapeErr(dwName, "stream is nil")
	}
	want := "[B, C, L]"
	if opt.ChannelsLast {
		want = "[B, L, C]"
	}
	if x == nil || len(x.Shape()) != 3 {
		return shapeErr(dwName, "x has shape %v, want %s", shapeOf(x), want)
	}
	xs := x.Shape()
	if err := checkTensor(dwName, "x", x, gpu.F32, xs...); err != nil {
		return err
	}
	b, c, l := xs[0], xs[1], xs[2]
	if opt.ChannelsLast {
		l, c = xs[1], xs[2]
	}
	if weight == nil || len(weight.Shape()) != 2 || weight.Shape()[0] != c || weight.Shape()[1] < 1 {
		return shapeErr(dwName, "weight has shape %v, want [C=%d, K≥1]", shapeOf(weight), c)
	}
	if err := checkTensor(dwName, "weight", weight, gpu.F32, weight.Shape()...); err != nil {
		return err
	}
	k := weight.Shape()[1]
	bias, hasB, lout, err := convBiasLen(dwName, weight, bias, c, l, k, opt.Padding)
	if err != nil {
		return err
	}
	oshape := []int{b, c, lout}
	if opt.ChannelsLast {
		oshape = []int{b, lout, c}
	}
	if err := checkTensor(dwName, "out", out, gpu.F32, oshape...); err != nil {
		return err
	}
	n := b * c * lout
	if n == 0 {
		return nil
	}
	d := s.Device()
	push := gpu.Push(uint32(b), uint32(c), uint32(l), uint32(lout), uint32(k), uint32(opt.Padding), hasB)
	if dwTexel && opt.ChannelsLast && c%4 == 0 && cpuTiles(d.Info()) && texelBindable(x, weight, bias) {
		tt, kw := dwTT, 0
		if k <= dwMaxFixedK {
			tt, kw = dwTTFixed, k
		}
		kern, err := kernel(d, "dwconv_t", []gpu.Access{gpu.Read | gpu.Texel, gpu.Read | gpu.Texel, gpu.Read | gpu.Texel, gpu.Write}, 28, eltLocal, uint32(tt), uint32(kw))
		if err != nil {
			return err
		}
		groups, err := group1D(d, b*ceilDiv(lout, tt)*(c/4), eltLocal)
		if err != nil {
			return err
		}
		return s.Dispatch(kern, groups, push, x, weight, bias, out)
	}
	kern, err := kernel(d, "dwconv", []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Write}, 28, eltLocal, b2u(opt.ChannelsLast))
	if err != nil {
		return err
	}
	groups, err := group1D(d, n, eltLocal)
	if err != nil {
		return err
	}
	return s.Dispatch(kern, groups, push, x, weight, bias, out)
}
