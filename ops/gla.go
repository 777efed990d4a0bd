package ops

import (
	"fmt"
	"math"

	"github.com/vkseq/vkseq/gpu"
)

// Gated linear attention (docs/design.md §5). Per sequence and head, with state S (K×V):
//
//	S_t = diag(exp(g_t)) S_{t-1} + k_t v_tᵀ
//	o_t = S_tᵀ (scale · q_t)
//
// GLA computes it chunk by chunk for prefill, GLARecurrent token by token for decode; both
// agree with reference.GLA.

// glaChunk is the chunk length of the chunked form (the shaders' GLA_C), glaSub its sub-chunk.
const (
	glaChunk = 64
	glaSub   = 16
	glaMaxKV = 256
)

// GLAOptions are the optional inputs and outputs of GLA.
type GLAOptions struct {
	// Scale multiplies q; nil means K^-0.5. It must be finite.
	Scale *float32
	// InitialState is the state each sequence starts from, F32 [N,H,K,V]; nil means zeros.
	InitialState *gpu.Tensor
	// FinalState, when not nil, receives each sequence's state after its last token, F32
	// [N,H,K,V]. It may be the same tensor as InitialState (the state is then advanced in place).
	FinalState *gpu.Tensor
	// CuSeqlens switches to variable-length mode: an I32 tensor [N+1] of offsets into T
	// (starting at 0, non-decreasing, ending at T) splitting the T tokens of the single batch
	// row (B must be 1) into N independent sequences; empty sequences are legal. GLA reads it
	// back to the host when recording (to validate it and to size the chunk grid), so its
	// contents must be final then: it must not be written by commands not yet completed.
	CuSeqlens *gpu.Tensor
	// Form chooses the chunked or the recurrent form; FormAuto (the zero value) picks the
	// faster for the device and shape.
	Form Form
}

// GLARecurrentOptions are the optional inputs of GLARecurrent.
type GLARecurrentOptions struct {
	// Scale multiplies q; nil means K^-0.5. It must be finite.
	Scale *float32
	// CuSeqlens as in GLAOptions (I32 [N+1], B = 1), except that GLARecurrent never reads it
	// on the host (a decode step makes no host round trip): only its shape is checked, and the
	// kernel clamps the offsets into [0, T] (a decreasing offset gives an empty sequence), so bad
	// offsets give wrong results but never touch memory out of bounds.
	CuSeqlens *gpu.Tensor
	// Gate, when set, computes the gate in the step from gk_proj's low-rank output instead of
	// reading g (which must then be nil): see GLAGate. It needs F32 q, k, v and out.
	Gate *GLAGate
}

// GLAGate is GLA's gate as GLARecurrent can compute it (fla's gk_proj.1 followed by
// logsigmoid(·) / gate_logit_normalizer), per token row r = b·T + t and key row j = h·K + d:
//
//	g[r, j] = logsigmoid(Weight[j, :] · Low[r, :] + Bias[j]) / Normalizer
//
// On CPU devices, with one token per sequence, R % 4 == 0 and every tensor bindable as texels, the
// step computes it in its own kernel (gla_rec_t: two dispatches fewer per layer); elsewhere it is
// recorded as ops.Linear and ops.LogSigmoid into a temporary first.
type GLAGate struct {
	Low        *gpu.Tensor // [B, T, R] (any shape of B·T·R elements whose last dimension is R) F32
	Weight     *gpu.Tensor // [H·K, R] F32 or F16
	Bias       *gpu.Tensor // [H·K] F32, or nil
	Normalizer float32     // finite and non-zero
}

// glaSegBytes is the default cap on each scratch buffer: long inputs are processed in segments of
// chunks whose states and attention fit it (and the device's binding range).
const glaSegBytes = 64 << 20

// glaDims are the sizes of one GLA call.
type glaDims struct {
	B, T, H, K, V int
	N             int // sequences
	Kp, Vp        int // K and V rounded up to multiples of 4
	dt            gpu.DType
	scale         float32
}

// glaCheck validates the sequence tensors, the scale and the shape of cu_seqlens.
func glaCheck(op string, out, q, k, v, g *gpu.Tensor, scale *float32, cu *gpu.Tensor) (glaDims, error) {
	var z glaDims
	if q == nil {
		return z, shapeErr(op, "q is nil")
	}
	qs := q.Shape()
	if len(qs) != 4 {
		return z, shapeErr(op, "q has shape %v, want [B,T,H,K]", qs)
	}
	dt := q.DType()
	if dt != gpu.F32 && dt != gpu.F16 {
		return z, shapeErr(op, "q has dtype %v, want f32 or f16", dt)
	}
	B, T, H, K := qs[0], qs[1], qs[2], qs[3]
	if H < 1 || K < 1 || K > glaMaxKV {
		return z, shapeErr(op, "q has shape %v, want H >= 1 and 1 <= K <= %d", qs, glaMaxKV)
	}
	if v == nil {
		return z, shapeErr(op, "v is nil")
	}
	vs := v.Shape()
	if len(vs) != 4 || vs[0] != B || vs[1] != T || vs[2] != H || vs[3] < 1 || vs[3] > glaMaxKV {
		return z, shapeErr(op, "v has shape %v, want [B,T,H,V] = [%d,%d,%d,V] with 1 <= V <= %d", vs, B, T, H, glaMaxKV)
	}
	V := vs[3]
	for _, x := range []struct {
		n string
		t *gpu.Tensor
		s []int
	}{{"k", k, qs}, {"g", g, qs}, {"v", v, vs}, {"out", out, vs}} {
		if err := checkTensor(op, x.n, x.t, dt, x.s...); err != nil {
			return z, err
		}
	}
	d := q.Device()
	info := d.Info()
	if dt == gpu.F16 && !info.Float16Storage {
		return z, fmt.Errorf("%w: %s: f16 tensors need 16-bit storage, which %s lacks (use f32)", gpu.ErrUnsupported, op, info.Name)
	}
	for _, t := range []*gpu.Tensor{out, k, v, g} {
		if t.Device() != d {
			return z, shapeErr(op, "tensors of different devices")
		}
	}
	sc := float32(1 / math.Sqrt(float64(K)))
	if scale != nil {
		sc = *scale
		if math.IsNaN(float64(sc)) || math.IsInf(float64(sc), 0) {
			return z, shapeErr(op, "scale = %v, want a finite value (nil for K^-0.5)", sc)
		}
	}
	N := B
	if cu != nil {
		if cu.DType() != gpu.I32 || len(cu.Shape()) != 1 || cu.Shape()[0] < 1 {
			return z, shapeErr(op, "cu_seqlens has dtype %v and shape %v, want i32 [N+1] with N >= 0", cu.DType(), cu.Shape())
		}
		if B != 1 {
			return z, shapeErr(op, "cu_seqlens given with B = %d, want B = 1 (sequences packed along T)", B)
		}
		if cu.Device() != d {
			return z, shapeErr(op, "cu_seqlens is on another device")
		}
		N = cu.Shape()[0] - 1
	}
	return glaDims{B: B, T: T, H: H, K: K, V: V, N: N, Kp: ceilDiv(K, 4) * 4, Vp: ceilDiv(V, 4) * 4, dt: dt, scale: sc}, nil
}

// checkState verifies an optional [N,H,K,V] float32 state.
func (z glaDims) checkState(op, name string, t *gpu.Tensor, d *gpu.Device) error {
	if t == nil {
		return nil
	}
	if err := checkTensor(op, name, t, gpu.F32, z.N, z.H, z.K, z.V); err != nil {
		return err
	}
	if t.Device() != d {
		return shapeErr(op, "%s is on another device", name)
	}
	return nil
}

// checkBindable reports a tensor larger than the device binds at once.
func checkBindable(op string, d *gpu.Device, names []string, ts ...*gpu.Tensor) error {
	lim := bindRange(d)
	for i, t := range ts {
		if t != nil && t.Bytes() > lim {
			return fmt.Errorf("%w: %s: %s is %d bytes, more than %s binds at once (%d)", gpu.ErrUnsupported, op, names[i], t.Bytes(), d.Info().Name, lim)
		}
	}
	return nil
}

// glaKernel returns the pipeline of shaders/<name>[_f16].comp.
func glaKernel(d *gpu.Device, name string, dt gpu.DType, bindings []gpu.Access, push int, spec ...uint32) (*gpu.Kernel, error) {
	if dt == gpu.F16 {
		name += "_f16"
	}
	return kernel(d, name, bindings, push, spec...)
}

// glaGrid folds lanes invocations into workgroups of local (x, y) with z layers.
func glaGrid(d *gpu.Device, lanes, local, z int) ([3]uint32, error) {
	g, err := group1D(d, lanes, local)
	if err != nil {
		return g, err
	}
	if z > int(d.Info().MaxWorkgroupCount[2]) {
		return g, shapeErr("gla", "%d workgroup layers exceed the device's grid", z)
	}
	g[2] = uint32(z)
	return g, nil
}

// glaSegment is a run of consecutive chunks processed together: chunks [a, b), rows [r0, r1),
// the longest chunk's length.
type glaSegment struct{ a, b, r0, r1, maxLen int }

// GLA records gated linear attention over whole sequences (prefill), in the chunked form or the
// recurrent one (GLAOptions.Form; FormAuto picks the faster for the device, ops/tuning_forms.go:
// the recurrent form on CPU devices with enough heads to fill their threads, the chunked form on
// GPUs). Both forms take every option; the recurrent form runs GLARecurrent on the final state
// (a scratch state when FinalState is nil) after copying the initial state into it. What follows
// describes the chunked form.
//
// Shapes: q, k, g [B,T,H,K], v and out [B,T,H,V], all F32, or all F16 where the device has 16-bit
// storage (Device.Info().Float16Storage); 1 <= K, V <= 256 (any size), H >= 1, B, T >= 0.
// States (GLAOptions) are F32 [N,H,K,V] with N = B, or N = len(cu_seqlens)-1 in variable-length
// mode. out is overwritten; q, k, v, g, the initial state and cu_seqlens are not modified.
// Accumulation is float32 whatever the storage.
//
// The gates g are natural-log decays and the chunked form needs g <= 0 (as produced by
// logsigmoid): then every exponential it evaluates has an exponent <= 0 and nothing can overflow.
// With g > 0 the decays are growth factors; the kernels multiply them within a chunk of 64 tokens
// and across chunks, so moderate positive gates still give the recurrence's values (within the
// float32 rounding that growth amplifies in any form: about 5e-6 relative at g in [0, 0.05],
// T = 200), but products beyond float32's range (about e^88) give Inf or NaN, where GLARecurrent
// fails only when the state itself overflows.
//
// Work: a tiny planning dispatch (chunk table, from cu_seqlens on the device), then per segment of
// chunks: the masked intra-chunk attention and gated queries (parallel over chunks; one dispatch
// per 16-row sub-chunk below the first, as far as the longest chunk reaches, and one for the
// diagonal blocks), the states entering each chunk (sequential over a sequence's chunks, parallel
// over sequences, heads and state tiles), and the output (parallel over chunks). ws holds the scratch;
// long inputs are split into segments so that each scratch buffer stays within 64 MiB and the
// device's binding range. ws may be nil: the scratch then comes from s.Temp and is freed when the
// submission completes (a workspace saves the allocations when GLA runs again). An error wrapping ErrInvalidArgument says which tensor or option is wrong; one
// wrapping gpu.ErrUnsupported means the device cannot run the request (f16 without 16-bit
// storage, a tensor larger than one binding).
func GLA(s *gpu.Stream, ws *Workspace, out, q, k, v, g *gpu.Tensor, opt GLAOptions) error {
	const op = "gla"
	if s == nil {
		return shapeErr(op, "nil stream")
	}
	z, err := glaCheck(op, out, q, k, v, g, opt.Scale, opt.CuSeqlens)
	if err != nil {
		return err
	}
	d := q.Device()
	if s.Device() != d || (ws != nil && ws.d != d) {
		return shapeErr(op, "the stream, workspace and tensors must share one device")
	}
	scratch := func(name string, dt gpu.DType, n int) (*gpu.Tensor, error) { return ws.scratch(s, name, dt, n) }
	if err := z.checkState(op, "initial_state", opt.InitialState, d); err != nil {
		return err
	}
	if err := z.checkState(op, "final_state", opt.FinalState, d); err != nil {
		return err
	}
	if err := checkBindable(op, d, []string{"q", "k", "v", "g", "out", "initial_state", "final_state"},
		q, k, v, g, out, opt.InitialState, opt.FinalState); err != nil {
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
	if NC == 0 { // no token at all: the final states are the initial ones
		return carryState(s, opt.InitialState, opt.FinalState)
	}
	if glaPickForm(d.Info(), opt.Form, z) == FormRecurrent {
		return recurrentPrefill(s, ws, z, opt.InitialState, opt.FinalState, func(state *gpu.Tensor) error {
			return GLARecurrent(s, out, state, q, k, v, g, GLARecurrentOptions{Scale: opt.Scale, CuSeqlens: opt.CuSeqlens})
		})
	}
	fin := opt.FinalState
	if fin == nil {
		if fin, err = scratch("carry", gpu.F32, z.N*z.H*z.K*z.V); err != nil {
			return err
		}
	}

	// Segments of chunks whose scratch fits the cap.
	lim := segLimit(ws, d)
	info := d.Info()
	tile := glaTileFor(info, z.K, z.V)
	nKT, nVTs := ceilDiv(z.K, tile.StateTK), ceilDiv(z.Vp, tile.StateTV)
	Kh, Vh := nKT*tile.StateTK, nVTs*tile.StateTV // the padded state tiles in hbuf
	hPerChunk := uint64(z.H*Kh*Vh) * 4
	rowBytes := uint64(z.H*max(z.Kp, glaChunk)) * 4
	if hPerChunk > lim || glaChunk*rowBytes > lim {
		return fmt.Errorf("%w: gla: one chunk's scratch (H=%d K=%d V=%d) exceeds %d bytes", gpu.ErrUnsupported, z.H, z.K, z.V, lim)
	}
	segs := glaSegments(chunkRow, chunkLen, hPerChunk, rowBytes, lim)
	maxC, maxR := segMax(segs)

	tab, err := scratch("table", gpu.I32, 2*z.N+2*NC)
	if err != nil {
		return err
	}
	hbuf, err := scratch("states", gpu.F32, maxC*z.H*Kh*Vh)
	if err != nil {
		return err
	}
	abuf, err := scratch("attn", gpu.F32, maxR*z.H*glaChunk)
	if err != nil {
		return err
	}
	qsb, err := scratch("gatedq", gpu.F32, maxR*z.H*z.Kp)
	if err != nil {
		return err
	}

	R, W, RW := gpu.Read, gpu.Write, gpu.ReadWrite

	if err := glaPlan(s, op, z, NC, opt.CuSeqlens, tab); err != nil {
		return err
	}

	k4, v4 := b2u(z.K%4 == 0), b2u(z.V%4 == 0)
	var intra [glaChunk / glaSub]*gpu.Kernel // per sub-chunk I >= 1
	for I := 1; I < len(intra); I++ {
		if intra[I], err = glaKernel(d, "gla_intra", z.dt, []gpu.Access{R, R, R, R, W, W}, 32, uint32(tile.LX), k4, uint32(I)); err != nil {
			return err
		}
	}
	diag, err := glaKernel(d, "gla_diag", z.dt, []gpu.Access{R, R, R, R, W, W}, 32, uint32(tile.LX), k4)
	if err != nil {
		return err
	}
	state, err := glaKernel(d, "gla_state", z.dt, []gpu.Access{R, R, R, R, R, RW, W}, 36,
		uint32(tile.LX), uint32(tile.StateTK), uint32(tile.StateTV), k4, v4)
	if err != nil {
		return err
	}
	nRB, nVTo := glaChunk/tile.OutTM, ceilDiv(z.Vp, tile.OutTV)
	kout, err := glaKernel(d, "gla_out", z.dt, []gpu.Access{R, R, R, R, R, W}, 48,
		uint32(tile.LX), uint32(tile.OutTM), uint32(tile.OutTV), v4)
	if err != nil {
		return err
	}
	h0 := opt.InitialState
	for i, sg := range segs {
		segC := sg.b - sg.a
		push := gpu.Push(z.H, z.K, z.Kp, z.N, sg.a, sg.b, sg.r0, z.scale)
		grid, err := glaGrid(d, segC*z.H, tile.LX, 1)
		if err != nil {
			return err
		}
		for I := 1; I < len(intra) && glaSub*I < sg.maxLen; I++ {
			if err := s.Dispatch(intra[I], grid, push, tab, q, k, g, abuf, qsb); err != nil {
				return fmt.Errorf("gla: %w", err)
			}
		}
		grid[2] = uint32(ceilDiv(sg.maxLen, glaSub))
		if err := s.Dispatch(diag, grid, push, tab, q, k, g, abuf, qsb); err != nil {
			return fmt.Errorf("gla: %w", err)
		}
		mode, h0b := 0, fin
		if i == 0 {
			mode = 2
			if h0 != nil {
				mode, h0b = 1, h0
			}
		}
		if grid, err = glaGrid(d, z.N*z.H*nKT*nVTs, tile.LX, 1); err != nil {
			return err
		}
		if err := s.Dispatch(state, grid, gpu.Push(z.H, z.K, z.V, z.N, sg.a, sg.b, nKT, nVTs, mode),
			tab, k, v, g, h0b, fin, hbuf); err != nil {
			return fmt.Errorf("gla: %w", err)
		}
		if grid, err = glaGrid(d, segC*z.H, tile.LX, nRB*nVTo); err != nil {
			return err
		}
		if err := s.Dispatch(kout, grid, gpu.Push(z.H, z.V, z.Kp, Kh, Vh, z.N, sg.a, sg.b, sg.r0, nVTo, 0, 0),
			tab, qsb, abuf, hbuf, v, out); err != nil {
			return fmt.Errorf("gla: %w", err)
		}
	}
	return nil
}

// glaRecTVForce, when > 0, replaces the recurrent kernel's column tile; glaRecTile keeps the
// register tile where the streaming form would be taken (tests and explore tests).
var (
	glaRecTVForce int
	glaRecTile    bool
	// glaTexel lets CPU devices take gla_rec_t for one token per sequence (q, k, v, g and the
	// state read through texel bindings; see deltaTexelOK); tests turn it off to compare.
	glaTexel = true
)

// GLARecurrent records the recurrent form of gated linear attention (decode): every sequence
// steps through its tokens one by one from state, which it updates in place.
//
// Shapes: q, k, g [B,T,H,K], v and out [B,T,H,V], all F32, or all F16 where the device has 16-bit
// storage; 1 <= K, V <= 256; state F32 [N,H,K,V] (N = B, or len(cu_seqlens)-1), read as the
// state before the first token and overwritten with the state after the last. out is overwritten;
// q, k, v, g and cu_seqlens are not modified. Any gates are accepted (the state overflows only
// when the recurrence itself does).
//
// It is one dispatch with no host round trip, so a decode loop can record step after step (and
// other ops) on one stream. Work is parallel over sequences, heads and column tiles of the
// state, and sequential over tokens, so it suits a few tokens per call; use GLA for prefill. On
// CPU devices one token per sequence reads its operands through texel bindings where they allow.
func GLARecurrent(s *gpu.Stream, out, state, q, k, v, g *gpu.Tensor, opt GLARecurrentOptions) error {
	const op = "gla_recurrent"
	if s == nil {
		return shapeErr(op, "nil stream")
	}
	gate := opt.Gate
	if gate != nil {
		if g != nil {
			return shapeErr(op, "g must be nil when opt.Gate computes the gate")
		}
		var err error
		if g, err = glaGateCheck(op, s, q, gate); err != nil {
			return err
		}
	}
	z, err := glaCheck(op, out, q, k, v, g, opt.Scale, opt.CuSeqlens)
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
	if err := checkBindable(op, d, []string{"q", "k", "v", "g", "out", "state"}, q, k, v, g, out, state); err != nil {
		return err
	}
	if z.N == 0 || z.T == 0 {
		return nil // no token: the state is unchanged
	}
	info := d.Info()
	tile := glaTileFor(info, z.K, z.V)
	stream := recStream(info, z.T) && !glaRecTile
	if stream {
		tile.RecTV = recStreamTV(info, z.N*z.H, z.V)
	}
	if glaRecTVForce > 0 {
		tile.RecTV = glaRecTVForce
	}
	nVT := ceilDiv(z.Vp, tile.RecTV)
	name, access := "gla_rec", []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Write, gpu.ReadWrite}
	// One token per sequence on a CPU device: the texel variant (the same rule as the delta rule's).
	texel := stream && z.T == 1 && glaTexel && deltaTexelOK(info, z, q, k, v, g, state)
	var gateR, gateF16 uint32
	if gate != nil {
		r := gate.Weight.Shape()[1]
		if texel && r%4 == 0 && texelBindable(gate.Low, gate.Weight, gate.Bias) {
			gateR, gateF16 = uint32(r), b2u(gate.Weight.DType() == gpu.F16)
		} else {
			// The gate as its own GEMV and activation into a temporary, then the plain step.
			gt, err := s.Temp(gpu.F32, z.B, z.T, z.H*z.K)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			low, err := gate.Low.Reshape(z.B, z.T, gate.Low.Len()/(z.B*z.T))
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			if err := Linear(s, gt, low, gate.Weight, gate.Bias); err != nil {
				return fmt.Errorf("%s: gate: %w", op, err)
			}
			if err := LogSigmoid(s, gt, gt, gate.Normalizer); err != nil {
				return fmt.Errorf("%s: gate: %w", op, err)
			}
			if g, err = gt.Reshape(z.B, z.T, z.H, z.K); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			opt.Gate = nil
			return GLARecurrent(s, out, state, q, k, v, g, opt)
		}
	}
	pushSize := 32
	if texel {
		RT := gpu.Read | gpu.Texel
		name, access, pushSize = "gla_rec_t", []gpu.Access{gpu.Read, RT, RT, RT, RT, gpu.Write, gpu.Write, RT, RT, RT, RT}, 40
	}
	kern, err := glaKernel(d, name, z.dt, access, pushSize,
		uint32(tile.LX), uint32(z.Kp), uint32(tile.RecTV), b2u(z.K%4 == 0), b2u(z.V%4 == 0), b2u(stateTileShift(info)), b2u(stream),
		gateR, gateF16)
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
	args := []*gpu.Tensor{cu, q, k, v, g, out, state}
	push := gpu.Push(z.T, z.H, z.K, z.V, z.N, varlen, nVT, z.scale)
	if texel {
		// The state read through texels (written through binding 6), then the gate's operands.
		low, w, bias, div, hasBias := state, state, state, float32(1), uint32(0)
		if gateR > 0 {
			low, w, div = gate.Low, gate.Weight, gate.Normalizer
			if gate.Bias != nil {
				bias, hasBias = gate.Bias, 1
			}
		}
		args = append(args, state, low, w, bias)
		push = gpu.Push(z.T, z.H, z.K, z.V, z.N, varlen, nVT, z.scale, div, hasBias)
	}
	if err := s.Dispatch(kern, grid, push, args...); err != nil {
		return fmt.Errorf("gla_recurrent: %w", err)
	}
	return nil
}

// glaChunks lists the chunks of the chunked forms (GLA, the delta rule): their first rows and
// lengths (1..glaChunk), sequence after sequence, from the host copy of cu_seqlens (validated
// here: it must start at 0, never decrease and end at T) or the B rows of T tokens.
func glaChunks(op string, z glaDims, cuT *gpu.Tensor) (chunkRow, chunkLen []int, err error) {
	starts := make([]int, z.N+1)
	if cuT != nil {
		cu, err := cuT.ReadInt32()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: reading cu_seqlens: %w", op, err)
		}
		if cu[0] != 0 {
			return nil, nil, shapeErr(op, "cu_seqlens[0] = %d, want 0", cu[0])
		}
		for i := 1; i < len(cu); i++ {
			if cu[i] < cu[i-1] {
				return nil, nil, shapeErr(op, "cu_seqlens[%d] = %d < cu_seqlens[%d] = %d, want non-decreasing offsets", i, cu[i], i-1, cu[i-1])
			}
		}
		if last := cu[len(cu)-1]; int(last) != z.T {
			return nil, nil, shapeErr(op, "cu_seqlens[%d] = %d (last), want T = %d", len(cu)-1, last, z.T)
		}
		for i, c := range cu {
			starts[i] = int(c)
		}
	} else {
		for n := range starts {
			starts[n] = n * z.T
		}
	}
	for n := 0; n < z.N; n++ {
		for r := starts[n]; r < starts[n+1]; r += glaChunk {
			chunkRow = append(chunkRow, r)
			chunkLen = append(chunkLen, min(glaChunk, starts[n+1]-r))
		}
	}
	return chunkRow, chunkLen, nil
}

// glaSegments splits the chunks into runs whose scratch fits lim bytes: hPerChunk bytes of
// states per chunk and rowBytes per row of every row-indexed buffer.
func glaSegments(chunkRow, chunkLen []int, hPerChunk, rowBytes, lim uint64) []glaSegment {
	var segs []glaSegment
	for c, NC := 0, len(chunkRow); c < NC; {
		sg := glaSegment{a: c, r0: chunkRow[c]}
		for c < NC && uint64(c+1-sg.a)*hPerChunk <= lim && uint64(chunkRow[c]+chunkLen[c]-sg.r0)*rowBytes <= lim {
			sg.maxLen = max(sg.maxLen, chunkLen[c])
			c++
		}
		sg.b, sg.r1 = c, chunkRow[c-1]+chunkLen[c-1]
		segs = append(segs, sg)
	}
	return segs
}

// segMax returns the most chunks and the most rows of any segment.
func segMax(segs []glaSegment) (maxC, maxR int) {
	for _, sg := range segs {
		maxC, maxR = max(maxC, sg.b-sg.a), max(maxR, sg.r1-sg.r0)
	}
	return maxC, maxR
}

// carryState records what a chunked form does without any token: the final states (when asked
// for) are the initial ones, or zeros.
func carryState(s *gpu.Stream, h0, fin *gpu.Tensor) error {
	switch {
	case fin == nil || fin == h0:
		return nil
	case h0 == nil:
		return s.Fill(fin, 0)
	default:
		return s.Copy(fin, h0)
	}
}

// segLimit is the cap on each scratch buffer of a chunked op's segment: 64 MiB (or the
// workspace's test cap), and never more than the device binds at once.
func segLimit(ws *Workspace, d *gpu.Device) uint64 {
	lim := uint64(glaSegBytes)
	if ws != nil && ws.segBytes > 0 {
		lim = ws.segBytes
	}
	return min(lim, bindRange(d))
}

// glaPlan records the planning dispatch of the chunked forms: the chunk table tab (2N + 2NC
// values, see gla_plan.comp) from cu_seqlens on the device, or from the B rows of T tokens.
func glaPlan(s *gpu.Stream, op string, z glaDims, NC int, cu, tab *gpu.Tensor) error {
	plan, err := kernel(s.Device(), "gla_plan", []gpu.Access{gpu.Read, gpu.Write}, 16)
	if err != nil {
		return err
	}
	cuT, varlen := tab, 0
	if cu != nil {
		cuT, varlen = cu, 1
	}
	if err := s.Dispatch(plan, [3]uint32{1, 1, 1}, gpu.Push(z.N, z.T, NC, varlen), cuT, tab); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// glaPickForm resolves the form of a GLA prefill: a forced form as given, FormAuto from the
// device class and the recurrent kernel's workgroup count (ops/tuning_forms.go).
func glaPickForm(info gpu.DeviceInfo, f Form, z glaDims) Form {
	if f != FormAuto {
		return f
	}
	tile := glaTileFor(info, z.K, z.V)
	groups := ceilDiv(z.N*z.H*ceilDiv(z.Vp, tile.RecTV), tile.LX)
	if preferRecurrent(info, groups, false) {
		return FormRecurrent
	}
	return FormChunked
}

// recurrentPrefill records the recurrent form of a prefill entry point (GLA, DeltaRule): the
// state to advance is fin, or a scratch state when fin is nil; it starts as h0 (or zeros) unless
// fin is h0 itself, and run records the recurrent kernel on it. z.N > 0 and at least one token.
func recurrentPrefill(s *gpu.Stream, ws *Workspace, z glaDims, h0, fin *gpu.Tensor, run func(state *gpu.Tensor) error) error {
	state := fin
	if state == nil {
		n := z.N * z.H * z.K * z.V
		flat, err := ws.scratch(s, "carry", gpu.F32, n)
		if err == nil && flat.Len() != n { // stream temporaries hold at least 4 elements
			flat, err = flat.Window(0, n)
		}
		if err != nil {
			return err
		}
		if state, err = flat.Reshape(z.N, z.H, z.K, z.V); err != nil {
			return err
		}
	}
	if state != h0 {
		var err error
		if h0 == nil {
			err = s.Fill(state, 0)
		} else {
			err = s.Copy(state, h0)
		}
		if err != nil {
			return err
		}
	}
	return run(state)
}

// glaGateCheck validates GLARecurrentOptions.Gate against q [B, T, H, K] and returns q, which
// stands in for g in the shape checks (the gate has q's shape).
func glaGateCheck(op string, s *gpu.Stream, q *gpu.Tensor, gate *GLAGate) (*gpu.Tensor, error) {
	if q == nil || len(q.Shape()) != 4 {
		return nil, shapeErr(op, "q has shape %v, want [B,T,H,K]", shapeOf(q))
	}
	if q.DType() != gpu.F32 {
		return nil, shapeErr(op, "opt.Gate needs F32 q, k, v and out; q is %v", q.DType())
	}
	qs := q.Shape()
	rows, hk := qs[0]*qs[1], qs[2]*qs[3]
	if gate.Weight == nil || len(gate.Weight.Shape()) != 2 || gate.Weight.Shape()[0] != hk || gate.Weight.Shape()[1] < 1 ||
		(gate.Weight.DType() != gpu.F32 && gate.Weight.DType() != gpu.F16) {
		return nil, shapeErr(op, "gate weight has shape %v, want [H·K, R] = [%d, R ≥ 1], F32 or F16", shapeOf(gate.Weight), hk)
	}
	r := gate.Weight.Shape()[1]
	if gate.Low == nil || gate.Low.DType() != gpu.F32 || gate.Low.Len() != rows*r || len(gate.Low.Shape()) == 0 ||
		gate.Low.Shape()[len(gate.Low.Shape())-1] != r {
		return nil, shapeErr(op, "gate low-rank input has shape %v, want F32 [B, T, R] = [%d, %d, %d]", shapeOf(gate.Low), qs[0], qs[1], r)
	}
	if err := checkOpt(op, "gate bias", gate.Bias, gpu.F32, hk); err != nil {
		return nil, err
	}
	if n := float64(gate.Normalizer); n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, shapeErr(op, "gate normalizer %v, want finite and non-zero", gate.Normalizer)
	}
	if err := sameDevice(op, s, gate.Low, gate.Weight, gate.Bias); err != nil {
		return nil, err
	}
	return q, nil
}
