package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// The delta rule (DeltaNet) and the gated delta rule (docs/design.md §6). Per sequence and head,
// with state S (K×V):
//
//	S'  = exp(g_t) S_{t-1}            (S' = S_{t-1} without gates)
//	u_t = beta_t (v_t − S'ᵀ k_t)
//	S_t = S' + k_t u_tᵀ
//	o_t = S_tᵀ (scale · q_t)
//
// DeltaRule computes it chunk by chunk for prefill (the WY / UT form), DeltaRuleRecurrent token
// by token for decode; both agree with reference.DeltaRule.

// DeltaRuleRecurrentOptions are the optional inputs of DeltaRuleRecurrent.
type DeltaRuleRecurrentOptions struct {
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
// Shapes: q, k [B,T,H,K], v and out [B,T,H,V], beta and g [B,T,H], all F32, or all F16 where the
// device has 16-bit storage (Device.Info().Float16Storage); 1 <= K, V <= 256, H >= 1, B, T >= 0;
// state F32 [N,H,K,V] (N = B, or len(cu_seqlens)-1), read as the state before the first token
// and overwritten with the state after the last. out is overwritten; q, k, v, beta, g and
// cu_seqlens are not modified. g nil is the plain delta rule (g = 0). beta is used as given (no
// clamping; beta in (1, 2] with unit keys makes the transition a reflection-like map along k).
// Keys should have unit norm (or set UseQKL2Norm), otherwise the recurrence itself may grow
// without bound. Accumulation is float32 whatever the storage.
//
// It is one dispatch with no host round trip, so a decode loop can record step after step (and
// other ops) on one stream. Work is parallel over sequences, heads and column tiles of the state
// (each invocation keeps all K rows of its columns in registers) and sequential over tokens, so
// long prefills take time proportional to T. An error wrapping ErrInvalidArgument says which tensor or
// option is wrong; one wrapping gpu.ErrUnsupported means the device cannot run the request (f16
// without 16-bit storage, a tensor larger than one binding).
func DeltaRuleRecurrent(s *gpu.Stream, out, state, q, k, v, beta, g *gpu.Tensor, opt DeltaRuleRecurrentOptions) error {
	const op = "delta_rule_recurrent"
	if s == nil {
		return shapeErr(op, "nil stream")
	}
	z, err := deltaCheck(op, out, q, k, v, beta, g, opt.Scale, opt.CuSeqlens)
	if err != nil {
		return err
	}
	d := q.Device()
	if s.Device() != d {
		return shapeErr(op, "the stream and tensors must share one device")
	}
	if state == nil {
		return shapeErr(op, "state is nil, want f32 [%d,%d,%d,%d]", z.N, z.H, z.K, z.V)
	}
	if err := z.checkState(op, "state", state, d); err != nil {
		return err
	}
	if err := checkBindable(op, d, []string{"q", "k", "v", "beta", "g", "out", "state"}, q, k, v, beta, g, out, state); err != nil {
		return err
	}
	if z.N == 0 || z.T == 0 {
		return nil // no token: the state is unchanged
	}
	info := d.Info()
	stream := recStream(info, z.T)
	tv := deltaRecTV(info, z.N*z.H, z.K, z.V)
	if stream {
		tv = recStreamTV(info, z.N*z.H, z.V)
	}
	return deltaRecRecord(s, op, z, out, state, q, k, v, beta, g, opt, tv, stream)
}

// deltaRecRecord records the recurrent delta-rule kernel with tv state columns per invocation,
// holding them in registers across the tokens or (stream) streaming them per token.
func deltaRecRecord(s *gpu.Stream, op string, z glaDims, out, state, q, k, v, beta, g *gpu.Tensor, opt DeltaRuleRecurrentOptions, tv int, stream bool) error {
	d := s.Device()
	tile := glaTileFor(d.Info(), z.K, z.V)
	nVT := ceilDiv(z.Vp, tv)
	R := gpu.Read
	gb := g
	if gb == nil {
		gb = beta // not read: GATED is false
	}
	name, access := "delta_rec", []gpu.Access{R, R, R, R, R, R, gpu.Write, gpu.ReadWrite}
	texel := stream && z.T == 1 && deltaTexelOK(d.Info(), z, q, k, v, beta, gb, state)
	if texel {
		RT := gpu.Read | gpu.Texel
		name, access = "delta_rec_t", []gpu.Access{R, RT, RT, RT, RT, RT, gpu.Write, gpu.Write, RT}
	}
	kern, err := glaKernel(d, name, z.dt, access, 32,
		uint32(tile.LX), uint32(z.Kp), uint32(tv), b2u(z.K%4 == 0), b2u(z.V%4 == 0), b2u(g != nil), b2u(opt.UseQKL2Norm),
		b2u(stateTileShift(d.Info())), b2u(stream))
	if err != nil {
		return err
	}
	cu, varlen := state, 0
	if opt.CuSeqlens != nil {
		cu, varlen = opt.CuSeqlens, 1
	}
	grid, err := glaGrid(d, z.N*z.H*nVT, tile.LX, 1)
	if err != nil {
		return err
	}
	args := []*gpu.Tensor{cu, q, k, v, beta, gb, out, state}
	if texel {
		args = append(args, state) // read through texels, written through binding 7
	}
	if err := s.Dispatch(kern, grid, gpu.Push(z.T, z.H, z.K, z.V, z.N, varlen, nVT, z.scale), args...); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// deltaTexel lets CPU devices take the texel variant of the streaming delta-rule kernel
// (delta_rec_t: q, k, v, beta, g and the state read through uniform texel buffers); tests turn it
// off to compare.
var deltaTexel = true

// deltaTexelOK reports whether the streaming recurrent kernel may read its operands through
// texel bindings: a CPU device (where a storage-buffer load is a loop over the lanes and a texel
// fetch a gather), K and V multiples of 4 (4-element reads stay within a texel) and every tensor
// read bindable as texels. The caller also requires T = 1 (at most one token per sequence): the
// state is read through the texel view and written through a storage binding of the same memory,
// which is only defined when each element is read before it is written.
func deltaTexelOK(info gpu.DeviceInfo, z glaDims, ts ...*gpu.Tensor) bool {
	if !deltaTexel || !cpuTiles(info) || z.K%4 != 0 || z.V%4 != 0 {
		return false
	}
	for _, t := range ts {
		if !t.TexelBindable() {
			return false
		}
	}
	return true
}

// deltaSegBytes caps the scratch of one segment of DeltaRule: all its row-indexed buffers
// together, and its states (each also within the device's binding range).
const deltaSegBytes = 128 << 20

// DeltaRuleOptions are the optional inputs and outputs of DeltaRule.
type DeltaRuleOptions struct {
	// Scale multiplies q; nil means K^-0.5. It must be finite.
	Scale *float32
	// UseQKL2Norm normalises every head vector of q and k in the kernel to x / sqrt(Σx² + 1e-6)
	// before use (reference.L2Norm with reference.L2NormEps); q and k themselves are not modified.
	UseQKL2Norm bool
	// InitialState is the state each sequence starts from, F32 [N,H,K,V]; nil means zeros.
	InitialState *gpu.Tensor
	// FinalState, when not nil, receives each sequence's state after its last token, F32
	// [N,H,K,V]. It may be the same tensor as InitialState (the state is then advanced in place).
	FinalState *gpu.Tensor
	// CuSeqlens switches to variable-length mode: an I32 tensor [N+1] of offsets into T
	// (starting at 0, non-decreasing, ending at T) splitting the T tokens of the single batch
	// row (B must be 1) into N independent sequences; empty sequences are legal. DeltaRule reads
	// it back to the host when recording (to validate it and to size the chunk grid), so its
	// contents must be final then.
	CuSeqlens *gpu.Tensor
	// Form chooses the chunked or the recurrent form; FormAuto (the zero value) picks the
	// faster for the device and shape.
	Form Form
}

// DeltaRule records the delta rule, gated when g is not nil, over whole sequences (prefill), in
// the chunked (WY / UT) form or the recurrent one (DeltaRuleOptions.Form; FormAuto picks the
// faster for the device, ops/tuning_forms.go: the recurrent form on CPU devices with enough heads
// to fill their threads, the chunked form on GPUs). Both forms take every option; the recurrent
// form runs DeltaRuleRecurrent on the final state (a scratch state when FinalState is nil) after
// copying the initial state into it. What follows describes the chunked form.
//
// Shapes: q, k [B,T,H,K], v and out [B,T,H,V], beta and g [B,T,H], all F32, or all F16 where the
// device has 16-bit storage (Device.Info().Float16Storage); 1 <= K, V <= 256 (any size), H >= 1,
// B, T >= 0. States (DeltaRuleOptions) are F32 [N,H,K,V] with N = B, or N = len(cu_seqlens)-1 in
// variable-length mode. out is overwritten; q, k, v, beta, g, the initial state and cu_seqlens are
// not modified. beta is used as given (no clamping: beta in (1, 2] gives the transition a
// negative eigenvalue along a unit key). Keys should have unit norm (or set UseQKL2Norm). g nil is
// the plain delta rule. Accumulation is float32 whatever the storage.
//
// Per chunk of 64 tokens, with G the cumulative gate inside the chunk (docs/design.md §6):
//
//	A  = strictly_lower(diag(beta) K Kᵀ ⊙ exp(G_i − G_j))
//	T  = (I + A)⁻¹                      (blocked forward substitution, 16×16 blocks)
//	W  = T (K ⊙ beta ⊙ exp(G)),  U = T (V ⊙ beta)
//	Vn = U − W H                        (H: the state entering the chunk)
//	O  = scale [ (Q H) ⊙ exp(G) + tril(Q Kᵀ ⊙ exp(G_i − G_j)) Vn ]
//	H' = exp(G_last) H + Kᵀ (Vn ⊙ exp(G_last − G))
//
// so the product of the chunk's (I − beta k kᵀ) factors is never formed. Work per segment of
// chunks: the per-row operands (parallel over chunks and heads), the 16×16 blocks of A and of the
// masked attention, T by column blocks, W and U (GLA's output kernel), the states and Vn
// (sequential over a sequence's chunks, parallel over sequences, heads and state columns) and the
// output (GLA's output kernel). With g <= 0 (as from logsigmoid) every exponential it evaluates
// has an exponent <= 0; positive gates are growth factors that overflow float32 sooner than in
// DeltaRuleRecurrent.
//
// The chunked form does all of the recurrence's arithmetic plus the intra-chunk products; it pays
// on GPUs, but on a CPU device (lavapipe) DeltaRuleRecurrent was about 4× faster at every length
// measured (docs/lavapipe-2026-11-27.md).
//
// ws holds the scratch: about 4·(5K + 2V + 194) bytes per token and head (4.3 KiB at K=V=128),
// plus a state per chunk; long inputs are split into segments of chunks so that it stays within
// 128 MiB (and the device's binding range) whatever T is. ws may be nil: the scratch then comes from s.Temp
// and is freed when the submission completes. An error wrapping ErrInvalidArgument says which tensor or
// option is wrong; one wrapping gpu.ErrUnsupported means the device cannot run the request (f16
// without 16-bit storage, a tensor larger than one binding).
func DeltaRule(s *gpu.Stream, ws *Workspace, out, q, k, v, beta, g *gpu.Tensor, opt DeltaRuleOptions) error {
	const op = "delta_rule"
	if s == nil {
		return shapeErr(op, "nil stream")
	}
	z, err := deltaCheck(op, out, q, k, v, beta, g, opt.Scale, opt.CuSeqlens)
	if err != nil {
		return err
	}
	d := q.Device()
	if s.Device() != d || (ws != nil && ws.d != d) {
		return shapeErr(op, "the stream, workspace and tensors must share one device")
	}
	if err := z.checkState(op, "initial_state", opt.InitialState, d); err != nil {
		return err
	}
	if err := z.checkState(op, "final_state", opt.FinalState, d); err != nil {
		return err
	}
	if err := checkBindable(op, d, []string{"q", "k", "v", "beta", "g", "out", "initial_state", "final_state"},
		q, k, v, beta, g, out, opt.InitialState, opt.FinalState); err != nil {
		return err
	}
	if err := checkForm(op, opt.Form); err != nil {
		return err
	}
	chunkRow, chunkLen, err := glaChunks(op, z, opt.CuSeqlens)
	if err != nil {
		return err
	}
	NC := len(chunkRow)
	if z.N == 0 {
		return nil
	}
	if NC == 0 {
		return carryState(s, opt.InitialState, opt.FinalState)
	}
	if deltaPickForm(d.Info(), opt.Form, z) == FormRecurrent {
		return recurrentPrefill(s, ws, z, opt.InitialState, opt.FinalState, func(state *gpu.Tensor) error {
			return DeltaRuleRecurrent(s, out, state, q, k, v, beta, g,
				DeltaRuleRecurrentOptions{Scale: opt.Scale, UseQKL2Norm: opt.UseQKL2Norm, CuSeqlens: opt.CuSeqlens})
		})
	}
	scratch := func(name string, dt gpu.DType, n int) (*gpu.Tensor, error) { return ws.scratch(s, name, dt, n) }
	fin := opt.FinalState
	if fin == nil {
		if fin, err = scratch("delta_carry", gpu.F32, z.N*z.H*z.K*z.V); err != nil {
			return err
		}
	}

	info := d.Info()
	tile := glaTileFor(info, z.K, z.V)
	tv := deltaStateTV(info, z.N*z.H, z.K, z.V)
	Vh := ceilDiv(z.Vp, max(tv, tile.OutTV)) * max(tv, tile.OutTV) // hbuf's padded width: both tiles divide it
	nVTs, nVTo := Vh/tv, ceilDiv(z.Vp, tile.OutTV)
	// Segments: all the row-indexed scratch of a segment (kn, qn, qs, kw, W: Kp; vb, U: V; A, the
	// attention, T: 64; G and beta: 2 floats per row and head) within deltaSegBytes, its states too.
	lim := uint64(deltaSegBytes)
	if ws != nil && ws.segBytes > 0 {
		lim = ws.segBytes
	}
	lim = min(lim, bindRange(d))
	hPerChunk := uint64(z.H*z.Kp*Vh) * 4
	rowBytes := uint64(z.H*(5*z.Kp+2*z.V+3*glaChunk+2)) * 4
	if hPerChunk > lim || glaChunk*rowBytes > lim {
		return fmt.Errorf("%w: %s: one chunk's scratch (H=%d K=%d V=%d) exceeds %d bytes", gpu.ErrUnsupported, op, z.H, z.K, z.V, lim)
	}
	segs := glaSegments(chunkRow, chunkLen, hPerChunk, rowBytes, lim)
	maxC, maxR := segMax(segs)

	var bufs [13]*gpu.Tensor
	for i, b := range []struct {
		name string
		n    int
	}{
		{"table", 2*z.N + 2*NC},
		{"delta_kn", maxR * z.H * z.Kp}, {"delta_qn", maxR * z.H * z.Kp},
		{"delta_qs", maxR * z.H * z.Kp}, {"delta_kw", maxR * z.H * z.Kp},
		{"delta_vb", maxR * z.H * z.V}, {"delta_gb", maxR * z.H * 2},
		{"delta_amat", maxR * z.H * glaChunk}, {"delta_attn", maxR * z.H * glaChunk},
		{"delta_tmat", maxR * z.H * glaChunk}, {"delta_w", maxR * z.H * z.Kp},
		{"delta_u", maxR * z.H * z.V}, {"delta_states", maxC * z.H * z.Kp * Vh},
	} {
		dt := gpu.F32
		if i == 0 {
			dt = gpu.I32
		}
		if bufs[i], err = scratch(b.name, dt, b.n); err != nil {
			return err
		}
	}
	tab, kn, qn, qs, kw, vb, gbb, amat, abuf, tbuf, wbuf, ubuf, hbuf := bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], bufs[5], bufs[6], bufs[7], bufs[8], bufs[9], bufs[10], bufs[11], bufs[12]

	R, W, RW := gpu.Read, gpu.Write, gpu.ReadWrite
	if err := glaPlan(s, op, z, NC, opt.CuSeqlens, tab); err != nil {
		return err
	}
	k4, v4 := b2u(z.K%4 == 0), b2u(z.V%4 == 0)
	prep, err := glaKernel(d, "delta_prep", z.dt, []gpu.Access{R, R, R, R, R, R, W, W, W, W, W, W}, 36,
		uint32(tile.LX), k4, v4, b2u(g != nil), b2u(opt.UseQKL2Norm))
	if err != nil {
		return err
	}
	kkRows := deltaKKRows(info)
	kk, err := kernel(d, "delta_kk", []gpu.Access{R, R, R, R, W, W}, 28, uint32(tile.LX), uint32(kkRows))
	if err != nil {
		return err
	}
	inv, err := kernel(d, "delta_inv", []gpu.Access{R, R, RW}, 20, uint32(tile.LX))
	if err != nil {
		return err
	}
	outAccess := []gpu.Access{R, R, R, R, R, W}
	gemmW, err := kernel(d, "gla_out", outAccess, 48, uint32(tile.LX), uint32(tile.OutTM), uint32(tile.OutTV), 1)
	if err != nil {
		return err
	}
	gemmU, err := kernel(d, "gla_out", outAccess, 48, uint32(tile.LX), uint32(tile.OutTM), uint32(tile.OutTV), v4)
	if err != nil {
		return err
	}
	state, err := kernel(d, "delta_state", []gpu.Access{R, R, R, RW, R, R, RW, W}, 40,
		uint32(tile.LX), uint32(z.Kp), uint32(tv), v4, b2u(stateTileShift(d.Info())))
	if err != nil {
		return err
	}
	outName := "gla_out"
	if z.dt == gpu.F16 {
		outName = "delta_out_f16"
	}
	kout, err := kernel(d, outName, outAccess, 48, uint32(tile.LX), uint32(tile.OutTM), uint32(tile.OutTV), v4)
	if err != nil {
		return err
	}

	gb := g
	if gb == nil {
		gb = beta // not read: GATED is false
	}
	nRB := glaChunk / tile.OutTM
	h0 := opt.InitialState
	for i, sg := range segs {
		segC := sg.b - sg.a
		grid, err := glaGrid(d, segC*z.H, tile.LX, 1)
		if err != nil {
			return err
		}
		if err := s.Dispatch(prep, grid, gpu.Push(z.H, z.K, z.V, z.Kp, z.N, sg.a, sg.b, sg.r0, z.scale),
			tab, q, k, v, beta, gb, kn, qn, qs, kw, vb, gbb); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		nb := ceilDiv(sg.maxLen, glaSub) // 16-row blocks of the longest chunk: nb(nb+1)/2 blocks (I, J)
		grid[2] = uint32(nb * (nb + 1) / 2 * (glaSub / kkRows))
		if err := s.Dispatch(kk, grid, gpu.Push(z.H, z.Kp, z.N, sg.a, sg.b, sg.r0, z.scale), tab, kn, qn, gbb, amat, abuf); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		grid[2] = uint32(ceilDiv(sg.maxLen, glaSub))
		if err := s.Dispatch(inv, grid, gpu.Push(z.H, z.N, sg.a, sg.b, sg.r0), tab, amat, tbuf); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		// W = T kw and U = T vb: the output kernel without its state term (Kp = 0)
		for _, m := range []struct {
			k       *gpu.Kernel
			x, y    *gpu.Tensor
			width   int
			columns int
		}{{gemmW, kw, wbuf, z.Kp, ceilDiv(z.Kp, tile.OutTV)}, {gemmU, vb, ubuf, z.V, nVTo}} {
			if grid, err = glaGrid(d, segC*z.H, tile.LX, nRB*m.columns); err != nil {
				return err
			}
			if err := s.Dispatch(m.k, grid, gpu.Push(z.H, m.width, 0, 0, 0, z.N, sg.a, sg.b, sg.r0, m.columns, sg.r0, sg.r0),
				tab, kw, tbuf, hbuf, m.x, m.y); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		mode, h0b := 0, fin
		if i == 0 {
			mode = 2
			if h0 != nil {
				mode, h0b = 1, h0
			}
		}
		if grid, err = glaGrid(d, z.N*z.H*nVTs, tile.LX, 1); err != nil {
			return err
		}
		if err := s.Dispatch(state, grid, gpu.Push(z.H, z.K, z.V, Vh, z.N, sg.a, sg.b, nVTs, mode, sg.r0),
			tab, kn, wbuf, ubuf, gbb, h0b, fin, hbuf); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if grid, err = glaGrid(d, segC*z.H, tile.LX, nRB*nVTo); err != nil {
			return err
		}
		if err := s.Dispatch(kout, grid, gpu.Push(z.H, z.V, z.Kp, z.Kp, Vh, z.N, sg.a, sg.b, sg.r0, nVTo, sg.r0, 0),
			tab, qs, abuf, hbuf, ubuf, out); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// deltaCheck validates the tensors of both delta-rule forms: q, k, v and out as GLA's (k standing in
// for GLA's per-channel gates, which the delta rule lacks), beta and the optional g [B,T,H].
func deltaCheck(op string, out, q, k, v, beta, g *gpu.Tensor, scale *float32, cu *gpu.Tensor) (glaDims, error) {
	z, err := glaCheck(op, out, q, k, v, k, scale, cu)
	if err != nil {
		return z, err
	}
	d := q.Device()
	for _, x := range []struct {
		name string
		t    *gpu.Tensor
	}{{"beta", beta}, {"g", g}} {
		if x.t == nil && x.name == "g" {
			continue // the plain delta rule
		}
		if err := checkTensor(op, x.name, x.t, z.dt, z.B, z.T, z.H); err != nil {
			return z, err
		}
		if x.t.Device() != d {
			return z, shapeErr(op, "%s is on another device", x.name)
		}
	}
	return z, nil
}

// deltaPickForm resolves the form of a DeltaRule prefill: a forced form as given, FormAuto from
// the device class and the recurrent kernel's workgroup count (ops/tuning_forms.go).
func deltaPickForm(info gpu.DeviceInfo, f Form, z glaDims) Form {
	if f != FormAuto {
		return f
	}
	tile := glaTileFor(info, z.K, z.V)
	groups := ceilDiv(z.N*z.H*ceilDiv(z.Vp, deltaRecTV(info, z.N*z.H, z.K, z.V)), tile.LX)
	if preferRecurrent(info, groups, true) {
		return FormRecurrent
	}
	return FormChunked
}
