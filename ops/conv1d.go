package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// CausalConv1DOptions are the optional operands of CausalConv1D. All are float32.
type CausalConv1DOptions struct {
	Bias         *gpu.Tensor // [D]; nil: no bias
	InitialState *gpu.Tensor // [B, D, W-1]: the W-1 inputs before t = 0, oldest first; nil: zeros
	FinalState   *gpu.Tensor // [B, D, W-1] output: the last W-1 inputs; nil: not written; may be InitialState
	SiLU         bool        // apply SiLU to the output (causal_conv1d's activation="silu")
}

// maxConvWidth is the widest kernel the shader takes.
const maxConvWidth = 8

// CausalConv1D records Mamba's causal depthwise convolution (causal_conv1d_fn):
//
//	out[b, d, t] = act(bias[d] + Σ_{k<W} weight[d, k] · x[b, d, t-(W-1)+k])
//
// with x before t = 0 taken from InitialState (or zero). Shapes: x and out [B, D, L], both F32 or
// both F16 (F16 needs Float16Storage); weight [D, W] F32 with 1 ≤ W ≤ 8; the options as documented
// on CausalConv1DOptions. FinalState receives x[b, d, L-(W-1) .. L-1], reaching back into
// InitialState when L < W-1. L may be 0 (only FinalState is written). FinalState may be the same
// tensor as InitialState (the state is then advanced in place; the initial state is copied to a
// stream temporary first); otherwise x and InitialState are not modified.
func CausalConv1D(s *gpu.Stream, out, x, weight *gpu.Tensor, opt CausalConv1DOptions) error {
	const op = "causal_conv1d"
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	xs := x.Shape()
	if len(xs) != 3 {
		return shapeErr(op, "x has shape %v, want [B, D, L]", xs)
	}
	return conv1d(s, op, out, x, weight, opt.Bias, opt.InitialState, opt.FinalState, opt.SiLU, xs[0], xs[1], xs[2], false)
}

// CausalConv1DUpdateOptions are the optional operands of CausalConv1DUpdate.
type CausalConv1DUpdateOptions struct {
	Bias *gpu.Tensor // [D] F32; nil: no bias
	SiLU bool        // apply SiLU to the output
}

// CausalConv1DUpdate records a decode step of the causal conv1d (causal_conv1d_update) for T new
// tokens: with the window of each channel starting as state, each token is appended, the output
// is act(bias + weight · window) and the window shifts by one. Shapes: x and out [B, D, T] or
// [B, D] (T = 1), F32 or F16 alike; state [B, D, W-1] F32, updated in place to the last W-1
// inputs; weight [D, W] F32. It equals CausalConv1D over the T tokens with state as
// InitialState and FinalState. x is not modified.
func CausalConv1DUpdate(s *gpu.Stream, out, state, x, weight *gpu.Tensor, opt CausalConv1DUpdateOptions) error {
	const op = "causal_conv1d_update"
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	xs := x.Shape()
	t := 1
	switch len(xs) {
	case 3:
		t = xs[2]
	case 2:
	default:
		return shapeErr(op, "x has shape %v, want [B, D, T] or [B, D]", xs)
	}
	if state == nil {
		return shapeErr(op, "state is nil")
	}
	return conv1d(s, op, out, x, weight, opt.Bias, state, state, opt.SiLU, xs[0], xs[1], t, true)
}

// convStepTexel lets CPU devices take conv1d_step_t for one-step updates (tests turn it off to
// cover both kernels).
var convStepTexel = true

func conv1d(s *gpu.Stream, op string, out, x, weight, bias, init, fin *gpu.Tensor, silu bool, b, dim, l int, update bool) error {
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	dt := x.DType()
	if err := checkAct(op, "x", x, dt, x.Shape()...); err != nil {
		return err
	}
	if err := checkAct(op, "out", out, dt, x.Shape()...); err != nil {
		return err
	}
	if weight == nil {
		return shapeErr(op, "weight is nil")
	}
	ws := weight.Shape()
	if len(ws) != 2 || ws[0] != dim || ws[1] < 1 || ws[1] > maxConvWidth {
		return shapeErr(op, "weight has shape %v, want [D, W] = [%d, W] with 1 ≤ W ≤ %d", ws, dim, maxConvWidth)
	}
	w := ws[1]
	if err := checkTensor(op, "weight", weight, gpu.F32, dim, w); err != nil {
		return err
	}
	if err := checkOpt(op, "bias", bias, gpu.F32, dim); err != nil {
		return err
	}
	stName := "initial_state"
	if update {
		stName = "state"
	}
	if err := checkOpt(op, stName, init, gpu.F32, b, dim, w-1); err != nil {
		return err
	}
	if err := checkOpt(op, "final_state", fin, gpu.F32, b, dim, w-1); err != nil {
		return err
	}
	if !update && fin != nil && fin == init && b*dim > 0 {
		// Several invocations share a row (tiles of time): the one that writes the final state
		// may run before another reads the initial one, so that one reads a copy.
		tmp, err := s.Temp(gpu.F32, init.Shape()...)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := s.Copy(tmp, init); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		init = tmp
	}
	rows := b * dim
	if rows == 0 || (l == 0 && fin == nil) {
		return nil
	}
	d := s.Device()
	tile := conv1dTileFor(d.Info(), update)
	ntiles := max(ceilDiv(l, tile.T), 1)
	tpi := 1
	if update {
		tpi = ntiles
	}
	ngroups := ceilDiv(ntiles, tpi)
	var flags uint32
	if bias != nil {
		flags |= 1
	}
	if init != nil {
		flags |= 2
	}
	if silu {
		flags |= 4
	}
	if fin != nil {
		flags |= 8
	}
	parts, err := splitRows(op, d, rows, l, 1, x, out)
	if err != nil {
		return err
	}
	step := update && l == 1 && convStepTexel && cpuTiles(d.Info()) && texelBindable(weight, bias, init)
	for _, pt := range parts {
		if step && texelBindable(pt.views[0]) {
			// One step of decode: conv1d_step_t, one invocation per row, texel-buffer reads.
			T := gpu.Read | gpu.Texel
			k, err := kernel(d, texelName(actName("conv1d_step", dt), true), []gpu.Access{T, T, T, T, gpu.Write, gpu.Write}, 36,
				uint32(tile.Local), uint32(tile.T), uint32(w))
			if err != nil {
				return err
			}
			groups, err := group1D(d, pt.rows, tile.Local)
			if err != nil {
				return err
			}
			push := gpu.Push(uint32(pt.rows), uint32(dim), uint32(l), uint32(ntiles), uint32(tpi), uint32(ngroups), flags, uint32(pt.base), uint32(pt.row0))
			if err := s.Dispatch(k, groups, push, pt.views[0], weight, orDummy(bias, weight), orDummy(init, weight), pt.views[1], orDummy(fin, pt.views[1])); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			continue
		}
		vec := l%4 == 0 && pt.base%4 == 0
		k, err := kernel(d, actName("conv1d", dt), []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Write, gpu.Write}, 36,
			uint32(tile.Local), uint32(tile.T), uint32(w), b2u(vec))
		if err != nil {
			return err
		}
		groups, err := group1D(d, pt.rows*ngroups, tile.Local)
		if err != nil {
			return err
		}
		push := gpu.Push(uint32(pt.rows), uint32(dim), uint32(l), uint32(ntiles), uint32(tpi), uint32(ngroups), flags, uint32(pt.base), uint32(pt.row0))
		xv, ov := pt.views[0], pt.views[1]
		if err := s.Dispatch(k, groups, push, xv, weight, orDummy(bias, weight), orDummy(init, weight), ov, orDummy(fin, ov)); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}
