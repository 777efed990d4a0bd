package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// maxScanState is the largest state size N of the selective scans.
const maxScanState = 256

// SelectiveScanOptions are the optional operands and flags of SelectiveScan (mamba-ssm's
// selective_scan_fn). Parameters are float32; Z has the activations' dtype.
type SelectiveScanOptions struct {
	D            *gpu.Tensor // [D] skip connection: y += D ⊙ u; nil: none
	Z            *gpu.Tensor // [B, D, L] gate: out = y ⊙ silu(z); nil: none
	DtBias       *gpu.Tensor // [D] added to dt before the softplus (mamba-ssm's delta_bias); nil: none
	DtSoftplus   bool        // dt = softplus(dt + dt_bias), x itself above 20 (mamba-ssm's delta_softplus)
	InitialState *gpu.Tensor // [B, D, N] F32 state before t = 0; nil: zeros
	FinalState   *gpu.Tensor // [B, D, N] F32 output: the state after the last step (mamba-ssm's last_state); nil: not written

	tile *scanTile // tests: force a kernel shape
}

// SelectiveScan records the Mamba-1 selective scan (S6) as mamba-ssm's selective_scan_fn
// (docs/design.md §7):
//
//	dt_t = softplus(dt_t + dt_bias)   (or dt_t + dt_bias without DtSoftplus)
//	x_t  = exp(dt_t A[d, :]) ⊙ x_{t-1} + dt_t u_t B[b, g, :, t]        g = d / (D/G)
//	y_t  = C[b, g, :, t] · x_t + D[d] u_t;     out_t = y_t silu(z_t) with Z
//
// Shapes: u, dt (mamba-ssm's delta) and out [B, D, L]; A [D, N] F32 (negative for a decaying state); B and C
// [B, G, N, L] with G dividing D; 1 ≤ N ≤ 256; any L ≥ 0. u, dt, B, C, out (and Z) are all F32
// or all F16 (F16 needs Float16Storage); the state and every accumulation are float32.
// InitialState and FinalState may be the same tensor (the state is then advanced in place);
// no other input is modified.
//
// One dispatch (more when u is larger than the device binds at once), parallel over (batch,
// channel) and over time: a cluster of lanes of one subgroup splits each block of steps, scans
// the per-lane affine pairs with shuffles, and passes the carry from block to block (see
// shaders/include/scan.glsl). How many lanes split time is per-device tuning (ops/tuning.go): a
// subgroup's worth on GPUs; on CPU devices (lavapipe), where the channels alone fill the SIMD
// lanes and shuffles are dear, only when there are fewer than 16 channels.
func SelectiveScan(s *gpu.Stream, out, u, dt, A, B, C *gpu.Tensor, opt SelectiveScanOptions) error {
	const op = "selective_scan"
	if u == nil {
		return shapeErr(op, "u is nil")
	}
	us := u.Shape()
	if len(us) != 3 {
		return shapeErr(op, "u has shape %v, want [B, D, L]", us)
	}
	return selectiveScan(s, op, scanArgs{out: out, u: u, delta: dt, A: A, B: B, C: C, D: opt.D, z: opt.Z, bias: opt.DtBias,
		init: opt.InitialState, last: opt.FinalState, softplus: opt.DtSoftplus, b: us[0], dim: us[1], l: us[2], tile: opt.tile,
		names: [4]string{"dt", "dt_bias", "initial_state", "final_state"}})
}

// StateUpdateOptions are the optional operands of the two state-space decode steps,
// SelectiveStateUpdate and SSDStateUpdate (mamba-ssm's selective_state_update without and with
// heads). C is the channel count D of SelectiveStateUpdate, the head count H of SSDStateUpdate.
type StateUpdateOptions struct {
	D          *gpu.Tensor // [C] F32 skip: out += D x; nil: none
	Z          *gpu.Tensor // gate, shaped as x: out *= silu(z); nil: none
	DtBias     *gpu.Tensor // [C] F32 added to dt before the softplus; nil: none
	DtSoftplus bool        // dt = softplus(dt + dt_bias)
	// DtProj [D, R] F32 or F16 folds Mamba-1's dt_proj into the update (one token, F32
	// activations only): dt is then [B, R] and the step uses DtProj · dt[b] per batch row, before
	// DtBias and the softplus. On CPU devices this saves the separate GEMV's dispatch; elsewhere it
	// records that GEMV (ops.Linear) into a temporary first.
	DtProj *gpu.Tensor
}

// SelectiveStateUpdate records the decode form of SelectiveScan (mamba-ssm's
// selective_state_update without heads) for T new tokens and advances state in place:
//
//	state = exp(dt A) ⊙ state + dt x B;   out = (C · state + D x) silu(z)     per token
//
// Shapes: state [B, D, N] F32 (read, then overwritten with the state after the last token);
// x, dt, out (and Z) [B, D] for one token or [B, D, T]; A [D, N] F32; B and C [B, G, N] for one
// token or [B, G, N, T]. Activations are all F32 or all F16. Token by token it reproduces
// SelectiveScan. Inputs other than state are not modified. With opt.DtProj, dt is [B, R] (see
// StateUpdateOptions).
func SelectiveStateUpdate(s *gpu.Stream, out, state, x, dt, A, B, C *gpu.Tensor, opt StateUpdateOptions) error {
	const op = "selective_state_update"
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	xs := x.Shape()
	var b, dim, t int
	switch len(xs) {
	case 2:
		b, dim, t = xs[0], xs[1], 1
	case 3:
		b, dim, t = xs[0], xs[1], xs[2]
	default:
		return shapeErr(op, "x has shape %v, want [B, D] or [B, D, T]", xs)
	}
	if state == nil {
		return shapeErr(op, "state is nil")
	}
	// One token: view the [B, D] and [B, G, N] tensors as sequences of length 1.
	view := func(name string, t *gpu.Tensor, want int) (*gpu.Tensor, error) {
		if t == nil || len(xs) == 3 {
			return t, nil
		}
		sh := t.Shape()
		if len(sh) != want {
			return nil, shapeErr(op, "%s has shape %v, want %d dimensions (one token)", name, sh, want)
		}
		return t.Reshape(append(sh, 1)...)
	}
	var err error
	var dtIn *gpu.Tensor
	if opt.DtProj != nil {
		ps := opt.DtProj.Shape()
		if len(xs) != 2 {
			return shapeErr(op, "DtProj needs one token: x has shape %v, want [B, D]", xs)
		}
		if x.DType() != gpu.F32 {
			return shapeErr(op, "DtProj needs F32 activations, x is %v", x.DType())
		}
		if len(ps) != 2 || ps[0] != dim || ps[1] < 1 || (opt.DtProj.DType() != gpu.F32 && opt.DtProj.DType() != gpu.F16) {
			return shapeErr(op, "DtProj has shape %v (%v), want [D, R] = [%d, R ≥ 1], F32 or F16", ps, opt.DtProj.DType(), dim)
		}
		if err := checkTensor(op, "dt", dt, gpu.F32, b, ps[1]); err != nil {
			return err
		}
		// dt's place in the row-wise checks and splits is taken by x (same shape); the kernel
		// reads dtIn.
		dtIn, dt = dt, x
	}
	args := scanArgs{A: A, D: opt.D, dtProj: opt.DtProj, dtIn: dtIn, bias: opt.DtBias, init: state, last: state, softplus: opt.DtSoftplus, b: b, dim: dim, l: t,
		names: [4]string{"dt", "dt_bias", "state", "state"}}
	for _, v := range []struct {
		name string
		src  *gpu.Tensor
		dst  **gpu.Tensor
		dims int
	}{{"x", x, &args.u, 2}, {"dt", dt, &args.delta, 2}, {"z", opt.Z, &args.z, 2}, {"out", out, &args.out, 2}, {"B", B, &args.B, 3}, {"C", C, &args.C, 3}} {
		if v.src == nil && v.name != "z" {
			return shapeErr(op, "%s is nil", v.name)
		}
		if *v.dst, err = view(v.name, v.src, v.dims); err != nil {
			return err
		}
	}
	return selectiveScan(s, op, args)
}

type scanArgs struct {
	out, u, delta, A, B, C, D, z, bias, init, last *gpu.Tensor
	softplus                                       bool
	b, dim, l                                      int
	tile                                           *scanTile
	dtProj, dtIn                                   *gpu.Tensor // one token: delta = dtProj · dtIn[b] (delta then aliases u)
	names                                          [4]string   // dt, dt_bias, initial_state, final_state as the op calls them
}

func selectiveScan(s *gpu.Stream, op string, a scanArgs) error {
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	b, dim, l := a.b, a.dim, a.l
	dt := a.u.DType()
	if err := checkAct(op, "u", a.u, dt, b, dim, l); err != nil {
		return err
	}
	if err := checkAct(op, a.names[0], a.delta, dt, b, dim, l); err != nil {
		return err
	}
	if err := checkAct(op, "out", a.out, dt, b, dim, l); err != nil {
		return err
	}
	if a.A == nil {
		return shapeErr(op, "A is nil")
	}
	as := a.A.Shape()
	if len(as) != 2 || as[0] != dim || as[1] < 1 || as[1] > maxScanState {
		return shapeErr(op, "A has shape %v, want [D, N] = [%d, N] with 1 ≤ N ≤ %d", as, dim, maxScanState)
	}
	n := as[1]
	if err := checkTensor(op, "A", a.A, gpu.F32, dim, n); err != nil {
		return err
	}
	if a.B == nil {
		return shapeErr(op, "B is nil")
	}
	bs := a.B.Shape()
	if len(bs) != 4 || bs[0] != b || bs[1] < 1 || bs[2] != n || bs[3] != l {
		return shapeErr(op, "B has shape %v, want [B, G, N, L] = [%d, G, %d, %d]", bs, b, n, l)
	}
	g := bs[1]
	if dim%g != 0 {
		return shapeErr(op, "B has G = %d groups, which must divide D = %d", g, dim)
	}
	if err := checkAct(op, "B", a.B, dt, b, g, n, l); err != nil {
		return err
	}
	if err := checkAct(op, "C", a.C, dt, b, g, n, l); err != nil {
		return err
	}
	if a.z != nil {
		if err := checkAct(op, "z", a.z, dt, b, dim, l); err != nil {
			return err
		}
	}
	if err := checkOpt(op, "D", a.D, gpu.F32, dim); err != nil {
		return err
	}
	if err := checkOpt(op, a.names[1], a.bias, gpu.F32, dim); err != nil {
		return err
	}
	if err := checkOpt(op, a.names[2], a.init, gpu.F32, b, dim, n); err != nil {
		return err
	}
	if err := checkOpt(op, a.names[3], a.last, gpu.F32, b, dim, n); err != nil {
		return err
	}
	rows := b * dim
	if rows == 0 || (l == 0 && a.last == nil) {
		return nil
	}
	d := s.Device()
	tile := scanTileFor(d.Info(), rows, l)
	if a.tile != nil {
		tile = *a.tile
	}
	tile = fitScanTile(d.Info(), tile, n, dim/g)
	var flags uint32
	for i, on := range []bool{a.D != nil, a.z != nil, a.bias != nil, a.softplus, a.init != nil, a.last != nil} {
		if on {
			flags |= 1 << i
		}
	}
	parts, err := splitRows(op, d, rows, l, tile.CL*tile.DT, a.u, a.delta, a.z, a.out)
	if err != nil {
		return err
	}
	if l == 1 && len(parts) == 1 && a.tile == nil {
		pt := parts[0]
		uv, dv, zv, ov := pt.views[0], pt.views[1], pt.views[2], pt.views[3]
		var rank, wf16 uint32
		if a.dtProj != nil {
			dv, rank, wf16 = a.dtIn, uint32(a.dtProj.Shape()[1]), b2u(a.dtProj.DType() == gpu.F16)
		}
		read := []*gpu.Tensor{uv, dv, a.A, a.B, a.C, orDummy(a.D, a.A), orDummy(zv, uv), orDummy(a.bias, a.A), orDummy(a.init, a.A)}
		if scanTexelOK(d.Info(), n, append(read, orDummy(a.dtProj, a.A))) {
			RT := gpu.Read | gpu.Texel
			k, err := kernel(d, actName("scan_dec_t", dt), []gpu.Access{RT, RT, RT, RT, RT, RT, RT, RT, RT, gpu.Write, gpu.Write, RT}, 36,
				scanDecLocal, uint32(n/4), rank, wf16)
			if err != nil {
				return err
			}
			groups, err := group1D(d, pt.rows, scanDecLocal)
			if err != nil {
				return err
			}
			push := gpu.Push(uint32(pt.rows), uint32(pt.row0), uint32(dim), uint32(l), uint32(n), uint32(dim/g), uint32(g), flags, uint32(pt.base))
			if err := s.Dispatch(k, groups, push, append(read, ov, orDummy(a.last, a.A), orDummy(a.dtProj, a.A))...); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			return nil
		}
	}
	if a.dtProj != nil {
		// No texel kernel: the projection as its own GEMV into a temporary, then the plain update.
		full, err := s.Temp(gpu.F32, b, dim)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := Linear(s, full, a.dtIn, a.dtProj, nil); err != nil {
			return fmt.Errorf("%s: dt_proj: %w", op, err)
		}
		if a.delta, err = full.Reshape(b, dim, 1); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		a.dtProj, a.dtIn = nil, nil
		return selectiveScan(s, op, a)
	}
	for _, pt := range parts {
		vec := l%4 == 0 && pt.base%4 == 0
		k, err := kernel(d, actName("scan", dt), []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Read, gpu.Read,
			gpu.Read, gpu.Read, gpu.Write, gpu.Write}, 36, uint32(tile.TL*tile.CL), uint32(tile.TL), uint32(tile.K), b2u(vec), uint32(tile.ncap), uint32(tile.DT), uint32(tile.NV))
		if err != nil {
			return err
		}
		groups, err := group1D(d, pt.rows/tile.DT, tile.CL)
		if err != nil {
			return err
		}
		push := gpu.Push(uint32(pt.rows), uint32(pt.row0), uint32(dim), uint32(l), uint32(n), uint32(dim/g), uint32(g), flags, uint32(pt.base))
		uv, dv, zv, ov := pt.views[0], pt.views[1], pt.views[2], pt.views[3]
		if err := s.Dispatch(k, groups, push, uv, dv, a.A, a.B, a.C, orDummy(a.D, a.A), orDummy(zv, uv), orDummy(a.bias, a.A),
			orDummy(a.init, a.A), ov, orDummy(a.last, ov)); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// scanTexel lets CPU devices take the one-token texel kernel (scan_dec_t); tests turn it off to
// compare.
var scanTexel = true

// scanDecLocal is scan_dec_t's workgroup: one SIMD batch of lavapipe's 8 lanes (one row each).
const scanDecLocal = 8

// scanTexelOK reports whether a one-token selective scan may take scan_dec_t, which reads every
// operand through texel bindings: a CPU device (a texel fetch is a gather there, a storage-buffer
// load a loop over the lanes), N a multiple of 4 (4-element reads within a texel) and every
// tensor read bindable as texels. With one token each lane reads its state row (through the
// texel view) before writing it, so the initial and final states may be one tensor.
func scanTexelOK(info gpu.DeviceInfo, n int, read []*gpu.Tensor) bool {
	if !scanTexel || !cpuTiles(info) || n%4 != 0 {
		return false
	}
	for _, t := range read {
		if !t.TexelBindable() {
			return false
		}
	}
	return true
}
