package ops

import (
	"math"
	"slices"

	"github.com/vkseq/vkseq/gpu"
)

// AddRMSNorm records the pre-norm residual step of a block: if x is not nil, residual += x (in
// place: residual is both read and written); then out = residual / sqrt(mean(residual²) + eps) ·
// weight over the last dimension D. Shapes: residual, x and out [..., D] F32 of one shape, weight
// [D] F32. out must not be residual; x is not modified. eps ≥ 0.
func AddRMSNorm(s *gpu.Stream, out, residual, x, weight *gpu.Tensor, eps float32) error {
	const op = "add_rmsnorm"
	if residual == nil || len(residual.Shape()) == 0 {
		return shapeErr(op, "residual is nil or a scalar, want [..., D]")
	}
	sh := residual.Shape()
	dim := sh[len(sh)-1]
	if err := checkTensor(op, "residual", residual, gpu.F32, sh...); err != nil {
		return err
	}
	if err := checkTensor(op, "out", out, gpu.F32, sh...); err != nil {
		return err
	}
	hasX := uint32(0)
	if x != nil {
		if err := checkTensor(op, "x", x, gpu.F32, sh...); err != nil {
			return err
		}
		hasX = 1
	} else {
		x = residual
	}
	if err := checkTensor(op, "weight", weight, gpu.F32, dim); err != nil {
		return err
	}
	if out == residual || (hasX == 1 && (x == residual || out == x)) {
		return shapeErr(op, "out, residual and x must be distinct tensors")
	}
	if !(eps >= 0) || math.IsInf(float64(eps), 0) {
		return shapeErr(op, "eps = %v, want a finite value ≥ 0", eps)
	}
	if err := sameDevice(op, s, out, residual, x, weight); err != nil {
		return err
	}
	if dim == 0 || residual.Len() == 0 {
		return nil
	}
	r := residual.Len() / dim
	d := s.Device()
	info := d.Info()
	push := gpu.Push(uint32(r), uint32(dim), eps, hasX)
	groups, err := group1D(d, r, 1)
	if err != nil {
		return err
	}
	// One workgroup per row: norms_add_t (a subgroup, texel reads) on CPU devices, else norms_add.
	if rmsTexel && dim%4 == 0 && cpuTiles(info) && info.SubgroupSize > 0 && slices.Contains(info.SubgroupOps, "arithmetic") &&
		texelBindable(residual, x, weight) {
		T := gpu.Read | gpu.Texel
		k, err := kernel(d, "norms_add_t", []gpu.Access{T, T, T, gpu.Write, gpu.Write}, 16, info.SubgroupSize)
		if err != nil {
			return err
		}
		return s.Dispatch(k, groups, push, residual, x, weight, out, residual)
	}
	k, err := kernel(d, "norms_add", []gpu.Access{gpu.ReadWrite, gpu.Read, gpu.Read, gpu.Write}, 16, uint32(rowsLocal(info, dim)))
	if err != nil {
		return err
	}
	return s.Dispatch(k, groups, push, residual, x, weight, out)
}

// rmsTexel lets CPU devices take norms_add_t (D a multiple of 4: texel-buffer reads, a subgroup
// per row; a mamba-130m decode token's 25 rows of 768 took 1.48 → 1.12 ms of GPU time on lavapipe,
// most of the rest being the fixed cost of a dispatch); tests turn it off to compare.
var rmsTexel = true

// GatedRMSNormOptions are the options of GatedRMSNorm.
type GatedRMSNormOptions struct {
	Eps float32 // added to the mean square; ≥ 0
	// NormBeforeGate: out = rmsnorm(x)·weight·silu(g) (fla's FusedRMSNormGated); false: gate first,
	// out = rmsnorm(x·silu(g))·weight (Mamba-2's RMSNormGated with norm_before_gate=False).
	NormBeforeGate bool
	// GroupSize is the number of consecutive columns normalised together (Mamba-2: d_inner/ngroups;
	// fla: head_v_dim); 0 means the whole row. It must divide D.
	GroupSize int
}

// GatedRMSNorm records a gated RMSNorm in either order (see GatedRMSNormOptions) over groups of
// columns. Shapes: x and g views of D columns of F32 tensors with M rows each (g typically a Cols
// window of a projection); weight F32 [D], or [GroupSize] shared by every group (fla's g_norm over
// heads); out [M, D] F32 (or any shape with M·D elements whose last dimension is D). out must not
// be x.T or g.T; x and g are not modified.
func GatedRMSNorm(s *gpu.Stream, out *gpu.Tensor, x, g ColView, weight *gpu.Tensor, opt GatedRMSNormOptions) error {
	const op = "gated_rmsnorm"
	xm, xs, err := x.layout(op, "x", gpu.F32)
	if err != nil {
		return err
	}
	gm, gs, err := g.layout(op, "g", gpu.F32)
	if err != nil {
		return err
	}
	if x.N != g.N || xm != gm {
		return shapeErr(op, "x is %d×%d, g is %d×%d: want the same rows and columns", xm, x.N, gm, g.N)
	}
	m, dim := xm, x.N
	grp := opt.GroupSize
	if grp == 0 {
		grp = dim
	}
	if grp < 0 || dim%grp != 0 {
		return shapeErr(op, "GroupSize = %d, want 0 or a divisor of D = %d", opt.GroupSize, dim)
	}
	if weight == nil || weight.DType() != gpu.F32 || len(weight.Shape()) != 1 || (weight.Len() != dim && weight.Len() != grp) {
		return shapeErr(op, "weight is %v, want f32 [%d] or [%d] (GroupSize)", weight, dim, grp)
	}
	if out == nil || out.DType() != gpu.F32 || out.Len() != m*dim || out.Shape()[len(out.Shape())-1] != dim {
		return shapeErr(op, "out is %v, want f32 [%d, %d]", out, m, dim)
	}
	if out == x.T || out == g.T {
		return shapeErr(op, "out aliases x or g")
	}
	if !(opt.Eps >= 0) || math.IsInf(float64(opt.Eps), 0) {
		return shapeErr(op, "Eps = %v, want a finite value ≥ 0", opt.Eps)
	}
	if err := sameDevice(op, s, out, x.T, g.T, weight); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	d := s.Device()
	k, err := kernel(d, "norms_gated", []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Write}, 36,
		uint32(rowsLocal(d.Info(), grp)), b2u(opt.NormBeforeGate))
	if err != nil {
		return err
	}
	groups, err := group1D(d, m*(dim/grp), 1)
	if err != nil {
		return err
	}
	push := gpu.Push(uint32(m), uint32(dim), uint32(grp), uint32(xs), uint32(x.Start), uint32(gs), uint32(g.Start), uint32(weight.Len()), opt.Eps)
	return s.Dispatch(k, groups, push, x.T, g.T, weight, out)
}
