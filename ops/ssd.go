package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// SSDOptions are the optional operands and flags of SSD (mamba-ssm's mamba_chunk_scan_combined).
// Parameters and states are float32; Z has the activations' dtype.
type SSDOptions struct {
	D            *gpu.Tensor // [H] skip: y += D[h] x; nil: none
	Z            *gpu.Tensor // [B, L, H, P] gate: out = y silu(z); nil: none
	DtBias       *gpu.Tensor // [H] added to dt before the softplus; nil: none
	DtSoftplus   bool        // dt = softplus(dt + dt_bias) (x itself above 20)
	InitialState *gpu.Tensor // [B, H, P, N] state before t = 0 (mamba-ssm's initial_states); nil: zeros
	FinalState   *gpu.Tensor // [B, H, P, N] output: the state after the last step (final_states); nil: not returned
	// Form chooses the chunked or the recurrent form; FormAuto (the zero value) picks the
	// faster for the device and shape.
	Form Form

	tile *ssdTile // tests: force the kernel shapes
}

// ssdSegBytes is the default cap on the chunk-state scratch: long inputs are processed in
// segments of chunks whose entering states fit it (and the device's binding range).
const ssdSegBytes = 64 << 20

// ssdDims are the sizes of one SSD call.
type ssdDims struct {
	b, l, h, p, g, n int
	dt               gpu.DType
}

// ssdCheck validates the operands of SSD and SSDStateUpdate (x [B, L, H, P] and the others with
// the same B and L) and returns the sizes.
func ssdCheck(op string, out, x, dt, a, bm, cm, z, d, bias *gpu.Tensor, states []*gpu.Tensor, stateNames []string) (ssdDims, error) {
	var z0 ssdDims
	if x == nil {
		return z0, shapeErr(op, "x is nil")
	}
	xs := x.Shape()
	if len(xs) != 4 {
		return z0, shapeErr(op, "x has shape %v, want [B, L, H, P]", xs)
	}
	dm := ssdDims{b: xs[0], l: xs[1], h: xs[2], p: xs[3], dt: x.DType()}
	if err := checkAct(op, "x", x, dm.dt, xs...); err != nil {
		return z0, err
	}
	if err := checkAct(op, "out", out, dm.dt, xs...); err != nil {
		return z0, err
	}
	if err := checkAct(op, "dt", dt, dm.dt, dm.b, dm.l, dm.h); err != nil {
		return z0, err
	}
	if err := checkTensor(op, "A", a, gpu.F32, dm.h); err != nil {
		return z0, err
	}
	if bm == nil {
		return z0, shapeErr(op, "B is nil")
	}
	bs := bm.Shape()
	if len(bs) != 4 || bs[0] != dm.b || bs[1] != dm.l || bs[2] < 1 || bs[3] < 1 || bs[3] > maxScanState {
		return z0, shapeErr(op, "B has shape %v, want [B, L, G, N] = [%d, %d, G, N] with 1 ≤ N ≤ %d", bs, dm.b, dm.l, maxScanState)
	}
	dm.g, dm.n = bs[2], bs[3]
	if dm.h%dm.g != 0 {
		return z0, shapeErr(op, "B has G = %d groups, which must divide H = %d", dm.g, dm.h)
	}
	if dm.p < 1 || dm.p > maxScanState {
		return z0, shapeErr(op, "x has P = %d, want 1 ≤ P ≤ %d", dm.p, maxScanState)
	}
	if err := checkAct(op, "B", bm, dm.dt, bs...); err != nil {
		return z0, err
	}
	if err := checkAct(op, "C", cm, dm.dt, bs...); err != nil {
		return z0, err
	}
	if z != nil {
		if err := checkAct(op, "z", z, dm.dt, xs...); err != nil {
			return z0, err
		}
	}
	if err := checkOpt(op, "D", d, gpu.F32, dm.h); err != nil {
		return z0, err
	}
	if err := checkOpt(op, "dt_bias", bias, gpu.F32, dm.h); err != nil {
		return z0, err
	}
	for i, st := range states {
		if err := checkOpt(op, stateNames[i], st, gpu.F32, dm.b, dm.h, dm.p, dm.n); err != nil {
			return z0, err
		}
	}
	return dm, nil
}

// ssdPart is one dispatch range of the time axis: batches [b0, b0+nb), tokens [t0, t0+tokens)
// of each, bound through views whose element of (local batch bl, part-local token tl) is
// base + (bl*tokStride + tl) * rowLen of the tensor.
type ssdPart struct {
	b0, nb, t0, tokens, tokStride int
	xbase, bbase, dbase           int
	x, z, out, dt, bm, cm         *gpu.Tensor
}

// ssdParts splits the time axis into parts of at most maxTok tokens (a multiple of align) and, when
// the tensors do not fit the device's binding range whole, binds each (batch, part) through
// windows.
func ssdParts(op string, d *gpu.Device, dm ssdDims, maxTok, align int, x, z, out, dt, bm, cm *gpu.Tensor) ([]ssdPart, error) {
	limit := bindRange(d)
	es := dm.dt.Size()
	xrow, brow := dm.h*dm.p, dm.g*dm.n
	ealign := alignElems(d, dm.dt)
	// Tokens of one batch whose x (the widest) fits a window.
	fitTok := (int(limit/uint64(es)) - ealign) / max(xrow, brow)
	fitTok -= fitTok % align
	if fitTok < 1 {
		return nil, shapeErr(op, "%d tokens of H·P = %d elements are more than the device binds at once (%d bytes)", align, xrow, limit)
	}
	maxTok = min(maxTok, fitTok)
	whole := x.Bytes() <= limit && bm.Bytes() <= limit && dt.Bytes() <= limit
	var parts []ssdPart
	if whole {
		for t0 := 0; t0 < max(dm.l, 1); t0 += maxTok {
			n := min(maxTok, dm.l-t0)
			parts = append(parts, ssdPart{b0: 0, nb: dm.b, t0: t0, tokens: n, tokStride: dm.l, xbase: t0 * xrow, bbase: t0 * brow, dbase: t0 * dm.h,
				x: x, z: z, out: out, dt: dt, bm: bm, cm: cm})
		}
		return parts, nil
	}
	// Each (batch, part) binds windows of the tensors past the limit (x, out and z share their
	// shape, so one base; B and C too), and the others whole with the part's offset as base.
	win := func(t *gpu.Tensor, start, n int) (*gpu.Tensor, int, error) { return bindSpan(op, t, start, n, limit) }
	for b := 0; b < dm.b; b++ {
		for t0 := 0; t0 < dm.l; t0 += maxTok {
			n := min(maxTok, dm.l-t0)
			pt := ssdPart{b0: b, nb: 1, t0: t0, tokens: n, tokStride: n}
			var err error
			row := b*dm.l + t0
			if pt.x, pt.xbase, err = win(x, row*xrow, n*xrow); err != nil {
				return nil, err
			}
			if pt.out, _, err = win(out, row*xrow, n*xrow); err != nil {
				return nil, err
			}
			if pt.z, _, err = win(z, row*xrow, n*xrow); err != nil {
				return nil, err
			}
			if pt.bm, pt.bbase, err = win(bm, row*brow, n*brow); err != nil {
				return nil, err
			}
			if pt.cm, _, err = win(cm, row*brow, n*brow); err != nil {
				return nil, err
			}
			if pt.dt, pt.dbase, err = win(dt, row*dm.h, n*dm.h); err != nil {
				return nil, err
			}
			parts = append(parts, pt)
		}
	}
	return parts, nil
}

// SSD records the Mamba-2 state-space dual scan (mamba-ssm's mamba_chunk_scan_combined;
// docs/design.md §8), per batch b and head h with state S (P × N, float32):
//
//	dt_t = softplus(dt_t + dt_bias[h])   (or dt_t + dt_bias[h] without DtSoftplus)
//	S_t  = exp(dt_t A[h]) S_{t-1} + dt_t x_t B_tᵀ        B_t, C_t from group g = h / (H/G)
//	y_t  = S_t C_t + D[h] x_t;     out_t = y_t silu(z_t) with Z
//
// Shapes: x and out [B, L, H, P]; dt [B, L, H]; A [H] F32; B and C [B, L, G, N] with G dividing H;
// 1 ≤ P, N ≤ 256; any L ≥ 0. x, dt, B, C, out (and Z) are all F32 or all F16 (F16 needs
// Float16Storage); states and accumulation are float32. The chunked kernels need dt·A ≤ 0 (A ≤ 0
// with softplus or non-negative dt, as in every Mamba-2 model): then every exponent they evaluate
// is ≤ 0. InitialState and FinalState may be the same tensor (advanced in place); no other
// input is modified. ws holds the scratch and must outlive the stream's execution; with a nil ws
// the scratch comes from stream temporaries (gpu.Stream.Temp).
//
// opt.Form picks the chunked form (below) or the recurrent one (the kernel of SSDStateUpdate over
// all L tokens); FormAuto takes the recurrent form on CPU devices for short inputs (ops/tuning_ssd.go)
// and the chunked form otherwise. An invalid Form is an ErrInvalidArgument.
//
// Chunked kernels (shaders/include/ssd_*.glsl): ssd_prep (dt and in-chunk cumulative decays, parallel over
// batch, head, chunk); then for each segment of chunks: ssd_cb (C·Bᵀ per chunk and group),
// ssd_state (states entering each chunk: sequential over chunks, parallel over batch, head and
// P × N tiles), ssd_out (output, parallel over chunks and row × P tiles).
func SSD(s *gpu.Stream, ws *Workspace, out, x, dt, A, B, C *gpu.Tensor, opt SSDOptions) error {
	const op = "ssd"
	if s == nil {
		return shapeErr(op, "nil stream")
	}
	dm, err := ssdCheck(op, out, x, dt, A, B, C, opt.Z, opt.D, opt.DtBias, []*gpu.Tensor{opt.InitialState, opt.FinalState},
		[]string{"initial_state", "final_state"})
	if err != nil {
		return err
	}
	if err := checkForm(op, opt.Form); err != nil {
		return err
	}
	d := s.Device()
	if ws != nil && ws.d != d {
		return shapeErr(op, "the workspace belongs to another device")
	}
	if dm.b == 0 || dm.h == 0 || (dm.l == 0 && opt.FinalState == nil) {
		return nil
	}
	tile := ssdTileFor(d.Info(), dm.p%4 == 0 && dm.n%4 == 0)
	if opt.tile != nil {
		tile = *opt.tile
	}
	q := tile.Q
	nch := max(ceilDiv(dm.l, q), 1)
	lp := nch * q
	fin := opt.FinalState
	if fin == nil {
		if fin, err = ws.scratch(s, "final", gpu.F32, dm.b*dm.h*dm.p*dm.n); err != nil {
			return err
		}
	}
	if dm.l == 0 { // only the final states: the initial ones, or zeros
		if opt.InitialState == nil {
			return s.Fill(fin, 0)
		}
		if opt.InitialState == fin {
			return nil
		}
		return s.Copy(fin, opt.InitialState)
	}
	if ssdForm(d.Info(), dm, opt.Form) == FormRecurrent {
		return ssdRecurrent(s, dm, out, x, dt, A, B, C, opt.Z, opt.D, opt.DtBias, opt.DtSoftplus, opt.InitialState, fin)
	}
	// Segments of chunks whose entering states fit the cap.
	segBytes := uint64(ssdSegBytes)
	if ws != nil && ws.segBytes > 0 {
		segBytes = ws.segBytes
	}
	segBytes = min(segBytes, d.Info().MaxStorageBufferRange)
	chunkBytes := uint64(4 * dm.b * dm.h * dm.p * dm.n)
	segChunks := int(segBytes / chunkBytes)
	if segChunks < 1 {
		return fmt.Errorf("%w: ssd: one chunk's states (B=%d H=%d P=%d N=%d) exceed %d bytes", gpu.ErrUnsupported, dm.b, dm.h, dm.p, dm.n, segBytes)
	}
	parts, err := ssdParts(op, d, dm, segChunks*q, q, x, opt.Z, out, dt, B, C)
	if err != nil {
		return err
	}
	maxS := 0
	for _, pt := range parts {
		maxS = max(maxS, ceilDiv(pt.tokens, q))
	}
	maxNB := parts[0].nb
	wdtp, err := ws.scratch(s, "dtp", gpu.F32, dm.b*dm.h*lp)
	if err != nil {
		return err
	}
	wg, err := ws.scratch(s, "G", gpu.F32, dm.b*dm.h*lp)
	if err != nil {
		return err
	}
	wst, err := ws.scratch(s, "states", gpu.F32, maxNB*dm.h*maxS*dm.p*dm.n)
	if err != nil {
		return err
	}
	wcb, err := ws.scratch(s, "cb", gpu.F32, maxNB*dm.g*maxS*q*q)
	if err != nil {
		return err
	}
	vec := dm.p%4 == 0 && dm.n%4 == 0
	for _, pt := range parts {
		vec = vec && pt.xbase%4 == 0 && pt.bbase%4 == 0
	}
	local := uint32(tile.Local)
	kern := func(name string, bindings []gpu.Access, push int, spec ...uint32) (*gpu.Kernel, error) {
		return kernel(d, actName(name, dm.dt), bindings, push, append([]uint32{local, b2u(vec)}, spec...)...)
	}
	R, W := gpu.Read, gpu.Write

	// dtp and G for all of L (dt bound whole).
	kp, err := kern("ssd_prep", []gpu.Access{R, R, R, W, W}, 28)
	if err != nil {
		return err
	}
	grid, err := group1D(d, dm.b*dm.h*nch, tile.Local)
	if err != nil {
		return err
	}
	var pflags uint32
	if opt.DtBias != nil {
		pflags |= 1
	}
	if opt.DtSoftplus {
		pflags |= 2
	}
	if err := s.Dispatch(kp, grid, gpu.Push(uint32(dm.b), uint32(dm.l), uint32(dm.h), uint32(q), uint32(nch), uint32(lp), pflags),
		dt, orDummy(opt.DtBias, A), A, wdtp, wg); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	kc, err := kern("ssd_cb", []gpu.Access{R, R, W}, 36, uint32(tile.CBI), uint32(tile.CBJ))
	if err != nil {
		return err
	}
	// On CPU devices the state and output kernels read their inputs through texel buffers
	// (shaders ssd_state_t, ssd_out_t: TEXEL_IO) when every tensor they read allows it.
	texel := vec && ssdChunkTexel && cpuTiles(d.Info()) && texelBindable(wdtp, wg, wst, wcb, A, fin, opt.InitialState, opt.D)
	for _, pt := range parts {
		texel = texel && texelBindable(pt.x, pt.bm, pt.cm, pt.z)
	}
	T := R
	if texel {
		T = R | gpu.Texel
	}
	ks, err := kernel(d, texelName(actName("ssd_state", dm.dt), texel), []gpu.Access{T, T, T, T, T, W, W}, 64,
		local, b2u(vec), uint32(tile.StP), uint32(tile.StN), b2u(tile.Coop))
	if err != nil {
		return err
	}
	ko, err := kernel(d, texelName(actName("ssd_out", dm.dt), texel), []gpu.Access{T, T, T, T, T, T, T, R, W}, 64,
		local, b2u(vec), uint32(tile.OutI), uint32(tile.OutP), b2u(tile.Coop))
	if err != nil {
		return err
	}
	var oflags uint32
	if opt.D != nil {
		oflags |= 1
	}
	if opt.Z != nil {
		oflags |= 2
	}
	hPerG := uint32(dm.h / dm.g)
	for _, pt := range parts {
		S := ceilDiv(pt.tokens, q)
		c0 := pt.t0 / q
		// C·Bᵀ per chunk and group.
		grid, err := group1D(d, pt.nb*dm.g*S*(q/tile.CBI)*(q/tile.CBJ), tile.Local)
		if err != nil {
			return err
		}
		if err := s.Dispatch(kc, grid, gpu.Push(uint32(pt.nb), uint32(S), uint32(dm.g), uint32(dm.n), uint32(q), uint32(pt.t0),
			uint32(pt.tokens), uint32(pt.tokStride), uint32(pt.bbase)), pt.bm, pt.cm, wcb); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		// States entering each chunk; the part starts from the initial states (first part of a
		// batch) or from where the previous part left them in fin.
		hin := fin
		var sflags uint32 = 1
		if pt.t0 == 0 {
			hin = orDummy(opt.InitialState, fin)
			if opt.InitialState == nil {
				sflags = 0
			}
		}
		stLanes := pt.nb * dm.h * ceilDiv(dm.p, tile.StP) * ceilDiv(dm.n, tile.StN)
		if tile.Coop { // a workgroup per 8 N tiles of the same P tile
			stLanes = pt.nb * dm.h * ceilDiv(dm.p, tile.StP) * ceilDiv(ceilDiv(dm.n, tile.StN), 8) * tile.Local
		}
		grid, err = group1D(d, stLanes, tile.Local)
		if err != nil {
			return err
		}
		push := gpu.Push(uint32(pt.nb), uint32(pt.b0), uint32(S), uint32(dm.h), uint32(dm.g), uint32(dm.p), uint32(dm.n), uint32(q),
			uint32(lp), uint32(c0), uint32(pt.tokens), uint32(pt.tokStride), uint32(pt.xbase), uint32(pt.bbase), sflags, hPerG)
		if err := s.Dispatch(ks, grid, push, pt.x, pt.bm, wdtp, wg, hin, wst, fin); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		// Output.
		outLanes := pt.nb * dm.h * S * (q / tile.OutI) * ceilDiv(dm.p, tile.OutP)
		if tile.Coop { // a workgroup per 8 P tiles of the same rows
			outLanes = pt.nb * dm.h * S * (q / tile.OutI) * ceilDiv(ceilDiv(dm.p, tile.OutP), 8) * tile.Local
		}
		grid, err = group1D(d, outLanes, tile.Local)
		if err != nil {
			return err
		}
		push = gpu.Push(uint32(pt.nb), uint32(pt.b0), uint32(S), uint32(dm.h), uint32(dm.g), uint32(dm.p), uint32(dm.n), uint32(q),
			uint32(lp), uint32(c0), uint32(pt.tokens), uint32(pt.tokStride), uint32(pt.xbase), uint32(pt.bbase), oflags, hPerG)
		if err := s.Dispatch(ko, grid, push, pt.x, pt.cm, orDummy(pt.z, pt.x), wcb, wst, wdtp, wg, orDummy(opt.D, A), pt.out); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// ssdChunkTexel lets CPU devices take the texel-buffer variants of the chunked kernels (tests turn
// it off to cover both).
var ssdChunkTexel = true

// SSDStateUpdate records the recurrent (token by token) form of SSD, mamba-ssm's
// selective_state_update with heads, for T tokens, and advances state in place:
//
//	S = exp(dt A[h]) S + dt x Bᵀ;   out = (S C + D[h] x) silu(z)      per token
//
// Shapes: state [B, H, P, N] F32 (read, then overwritten with the state after the last token);
// x, out (and Z) [B, H, P] for one token or [B, T, H, P]; dt [B, H] or [B, T, H]; A [H] F32;
// B and C [B, G, N] or [B, T, G, N]. Activations are all F32 or all F16. It is the decode step,
// and the token-by-token alternative to SSD for any T (one lane per (batch, head, a few rows of
// P), which reads and writes its state rows and reads B_t and C_t for every token: SSD's chunked
// form does far fewer memory accesses for long inputs). Inputs other than state are not modified.
func SSDStateUpdate(s *gpu.Stream, out, state, x, dt, A, B, C *gpu.Tensor, opt StateUpdateOptions) error {
	const op = "ssd_state_update"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	if state == nil {
		return shapeErr(op, "state is nil")
	}
	// One token: view [B, H, P], [B, H] and [B, G, N] as sequences of length 1.
	one := len(x.Shape()) == 3
	view := func(name string, t *gpu.Tensor, dims int) (*gpu.Tensor, error) {
		if t == nil || !one {
			return t, nil
		}
		sh := t.Shape()
		if len(sh) != dims || sh[0] != x.Shape()[0] {
			return nil, shapeErr(op, "%s has shape %v, want %d dimensions starting with B (one token)", name, sh, dims)
		}
		return t.Reshape(append([]int{sh[0], 1}, sh[1:]...)...)
	}
	var v [6]*gpu.Tensor
	for i, a := range []struct {
		name string
		t    *gpu.Tensor
		dims int
	}{{"x", x, 3}, {"out", out, 3}, {"dt", dt, 2}, {"B", B, 3}, {"C", C, 3}, {"z", opt.Z, 3}} {
		if a.t == nil && a.name != "z" {
			return shapeErr(op, "%s is nil", a.name)
		}
		var err error
		if v[i], err = view(a.name, a.t, a.dims); err != nil {
			return err
		}
	}
	dm, err := ssdCheck(op, v[1], v[0], v[2], A, v[3], v[4], v[5], opt.D, opt.DtBias, []*gpu.Tensor{state}, []string{"state"})
	if err != nil {
		return err
	}
	if dm.b == 0 || dm.h == 0 || dm.l == 0 {
		return nil
	}
	return ssdRecurrent(s, dm, v[1], v[0], v[2], A, v[3], v[4], v[5], opt.D, opt.DtBias, opt.DtSoftplus, state, state)
}

// ssdTexel lets CPU devices take the texel variant of the decode step (ssd_rec_t); tests turn it
// off to compare.
var ssdTexel = true

// ssdTexelOK reports whether the one-token recurrent kernel may read x, dt, B, C, z and the state
// through texel bindings (ssd_rec_t): a CPU device (a texel fetch is a gather there, a
// storage-buffer load a loop over the lanes) and every tensor read bindable as texels. The caller
// also requires one token and 4-vector access (VEC): the state is read through its texel view
// before the lane writes it through a storage binding of the same memory.
func ssdTexelOK(info gpu.DeviceInfo, parts []ssdPart, state *gpu.Tensor) bool {
	if !ssdTexel || !cpuTiles(info) || !state.TexelBindable() {
		return false
	}
	for _, pt := range parts {
		for _, t := range []*gpu.Tensor{pt.x, pt.dt, pt.bm, pt.cm, pt.z} {
			if t != nil && !t.TexelBindable() {
				return false
			}
		}
	}
	return true
}

// ssdRecTile forces the recurrent kernel's shape (tests and explorations only).
var ssdRecTile *ssdTile

// ssdRecurrent records the token-by-token form (shaders/ssd_rec) over all of x: the state starts
// from hin (nil: zeros) and ends in hout (hin and hout may be the same tensor).
func ssdRecurrent(s *gpu.Stream, dm ssdDims, out, x, dt, A, B, C, z, D, bias *gpu.Tensor, softplus bool, hin, hout *gpu.Tensor) error {
	const op = "ssd_recurrent"
	d := s.Device()
	tile := ssdTileFor(d.Info(), dm.n%4 == 0 && dm.p%4 == 0)
	if dm.l == 1 {
		// The decode step: one token per pass over the state (a shorter register tile; on
		// lavapipe at H=48 P=64 N=128, 1.85 ms process CPU time against 2.37 with RecT=4).
		tile.RecT = 1
	}
	if ssdRecTile != nil {
		tile = *ssdRecTile
	}
	parts, err := ssdParts(op, d, dm, dm.l, 1, x, z, out, dt, B, C)
	if err != nil {
		return err
	}
	vec := dm.n%4 == 0 && dm.p%4 == 0
	for _, pt := range parts {
		vec = vec && pt.bbase%4 == 0 && pt.xbase%4 == 0
	}
	R, RT := gpu.Read, gpu.Read|gpu.Texel
	name, access := "ssd_rec", []gpu.Access{R, R, R, R, R, R, R, R, R, gpu.ReadWrite, gpu.Write}
	if vec && dm.l == 1 && ssdTexelOK(d.Info(), parts, orDummy(hin, hout)) {
		name, access = "ssd_rec_t", []gpu.Access{RT, RT, RT, RT, RT, R, R, R, RT, gpu.Write, gpu.Write}
	}
	k, err := kernel(d, actName(name, dm.dt), access, 52, uint32(tile.Local), b2u(vec), uint32(tile.RecT), uint32(tile.RecP))
	if err != nil {
		return err
	}
	var flags uint32
	for i, on := range []bool{D != nil, z != nil, bias != nil, softplus} {
		if on {
			flags |= 1 << i
		}
	}
	for _, pt := range parts {
		// The first part of each batch starts from hin (or zeros), the others from hout.
		f := flags
		if pt.t0 == 0 {
			if hin != nil {
				f |= 16
			} else {
				f |= 32
			}
		}
		grid, err := group1D(d, pt.nb*dm.h*ceilDiv(dm.p, tile.RecP), tile.Local)
		if err != nil {
			return err
		}
		push := gpu.Push(uint32(pt.nb), uint32(pt.b0), uint32(dm.h), uint32(dm.g), uint32(dm.p), uint32(dm.n), uint32(pt.tokens),
			uint32(pt.tokStride), uint32(pt.xbase), uint32(pt.dbase), uint32(pt.bbase), f, uint32(dm.h/dm.g))
		if err := s.Dispatch(k, grid, push, pt.x, pt.dt, pt.bm, pt.cm, orDummy(pt.z, pt.x), A, orDummy(D, A), orDummy(bias, A),
			orDummy(hin, hout), hout, pt.out); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}
