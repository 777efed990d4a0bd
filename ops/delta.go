package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// The delta rule (DeltaNet) and the gated delta rule (DESIGN.md section 5). Per sequence and head,
// with state S (K×V):
//
//	S'  = exp(g_t) S_{t-1}            (S' = S_{t-1} without gates)
//	u_t = beta_t (v_t − S'ᵀ k_t)
//	S_t = S' + k_t u_tᵀ
//	o_t = S_tᵀ (scale · q_t)
//
// DeltaRuleRecurrent computes it token by token and agrees with reference.DeltaRule.

// DeltaOptions are the optional inputs of DeltaRuleRecurrent.
type DeltaOptions struct {
	// Scale multiplies q; nil means K^-0.5. It must be finite.
	Scale *float32
	// UseQKL2Norm normalises every head vector of q and k in the kernel to x / sqrt(Σx² + 1e-6)
	// before use (reference.L2Norm with reference.L2NormEps); q and k themselves are not modified.
	UseQKL2Norm bool
	// CuSeqlens switches to variable-length mode: an I32 tensor [N+1] of offsets into T (starting
	// at 0, non-decreasing, ending at T) splitting the T tokens of the single batch row (B must be
	// 1) into N independent sequences; empty sequences are legal. It is never read on the host
	// (a decode step makes no host round trip): only its shape is checked, and the kernel clamps
	// the offsets into [0, T] (a decreasing offset gives an empty sequence), so bad offsets give
	// wrong results but never touch memory out of bounds.
	CuSeqlens *gpu.Tensor
}

// DeltaRuleRecurrent records the recurrent form of the delta rule, gated when g is not nil: every
// sequence steps through its tokens one by one from state, which it updates in place.
//
// Shapes: q, k [B,T,H,K], v and o [B,T,H,V], beta and g [B,T,H], all F32, or all F16 where the
// device has 16-bit storage (Device.Info().Float16Storage); 1 <= K, V <= 256, H >= 1, B, T >= 0;
// state F32 [N,H,K,V] (N = B, or len(cu_seqlens)-1), read as the state before the first token
// and overwritten with the state after the last. o is overwritten; q, k, v, beta, g and
// cu_seqlens are not modified. g nil is the plain delta rule (g = 0). beta is used as given (no
// clamping; beta in (1, 2] with unit keys makes the transition a reflection-like map along k).
// Keys should have unit norm (or set UseQKL2Norm), otherwise the recurrence itself may grow
// without bound. Accumulation is float32 whatever the storage.
//
// It is one dispatch with no host round trip, so a decode loop can record step after step (and
// other ops) on one stream. Work is parallel over sequences, heads and column tiles of the state
// (each invocation keeps all K rows of its columns in registers) and sequential over tokens, so
// long prefills take time proportional to T. An error wrapping ErrShape says which tensor or
// option is wrong; one wrapping gpu.ErrUnsupported means the device cannot run the request (f16
// without 16-bit storage, a tensor larger than one binding).
func DeltaRuleRecurrent(s *gpu.Stream, o, q, k, v, beta, g, state *gpu.Tensor, opt DeltaOptions) error {
	const op = "delta_rule_recurrent"
	if s == nil {
		return shapeErr(op, "nil stream")
	}
	// q, k, v and o as GLA's (k stands in for GLA's per-channel gates, which the delta rule lacks).
	z, err := glaCheck(op, o, q, k, v, k, opt.Scale, opt.CuSeqlens)
	if err != nil {
		return err
	}
	d := q.Device()
	if err := checkTensor(op, "beta", beta, z.dt, z.B, z.T, z.H); err != nil {
		return err
	}
	if beta.Device() != d {
		return shapeErr(op, "beta is on another device")
	}
	if g != nil {
		if err := checkTensor(op, "g", g, z.dt, z.B, z.T, z.H); err != nil {
			return err
		}
		if g.Device() != d {
			return shapeErr(op, "g is on another device")
		}
	}
	if s.Device() != d {
		return shapeErr(op, "the stream and tensors must share one device")
	}
	if state == nil {
		return shapeErr(op, "state is nil, want f32 [%d,%d,%d,%d]", z.N, z.H, z.K, z.V)
	}
	if err := z.checkState(op, "state", state, d); err != nil {
		return err
	}
	if err := checkBindable(op, d, []string{"q", "k", "v", "beta", "g", "o", "state"}, q, k, v, beta, g, o, state); err != nil {
		return err
	}
	if z.N == 0 || z.T == 0 {
		return nil // no token: the state is unchanged
	}
	tile := glaTileFor(d.Info(), z.K, z.V)
	tv := deltaRecTV(d.Info(), z.K, z.V)
	nVT := ceilDiv(z.Vp, tv)
	R := gpu.Read
	kern, err := glaKernel(d, "delta_rec", z.dt, []gpu.Access{R, R, R, R, R, R, gpu.Write, gpu.ReadWrite}, 32,
		uint32(tile.LX), uint32(z.Kp), uint32(tv), b2u(z.K%4 == 0), b2u(z.V%4 == 0), b2u(g != nil), b2u(opt.UseQKL2Norm))
	if err != nil {
		return err
	}
	cu, varlen := state, 0
	if opt.CuSeqlens != nil {
		cu, varlen = opt.CuSeqlens, 1
	}
	gb := g
	if gb == nil {
		gb = beta // not read: GATED is false
	}
	grid, err := glaGrid(d, z.N*z.H*nVT, tile.LX, 1)
	if err != nil {
		return err
	}
	if err := s.Dispatch(kern, grid, gpu.Push(z.T, z.H, z.K, z.V, z.N, varlen, nVT, z.scale), cu, q, k, v, beta, gb, o, state); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
