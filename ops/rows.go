package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

const (
	rowSum  = 0
	rowRMS  = 1
	rowL2   = 2
	l2Eps   = 1e-6 // docs/design.md §6: x / sqrt(Σx² + 1e-6)
	rmsName = "rmsnorm"
)

// rowsLayout views x as [R, C] with C its last dimension.
func rowsLayout(op string, x *gpu.Tensor) (r, c int, err error) {
	if x == nil {
		return 0, 0, shapeErr(op, "x is nil")
	}
	if x.DType() != gpu.F32 {
		return 0, 0, shapeErr(op, "x has dtype %v, want f32", x.DType())
	}
	sh := x.Shape()
	if len(sh) == 0 {
		return 0, 0, shapeErr(op, "x is a scalar, want at least one dimension")
	}
	c = sh[len(sh)-1]
	if c == 0 {
		return 0, 0, shapeErr(op, "x has shape %v: rows of length 0", sh)
	}
	return x.Len() / c, c, nil
}

func rows(s *gpu.Stream, name string, op int, out, x, w *gpu.Tensor, eps float32) error {
	r, c, err := rowsLayout(name, x)
	if err != nil {
		return err
	}
	if r == 0 {
		return nil
	}
	d := s.Device()
	local := rowsLocal(d.Info(), c)
	k, err := kernel(d, "rows", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 16, uint32(local), uint32(op))
	if err != nil {
		return err
	}
	hasW := uint32(0)
	if w == nil {
		w = x
	} else {
		hasW = 1
	}
	// Parts of whole rows, each within one binding, starting at aligned elements of x and out.
	limit := bindRange(d)
	part := r
	if x.Bytes() > limit || out.Bytes() > limit {
		align := alignElems(d, gpu.F32)
		step := stepAlign(c, align)
		if op == rowSum {
			step = lcm(step, align) // out's windows start at row r0
		}
		part = int(limit/4) / c / step * step
		if part < 1 || (hasW == 1 && w.Bytes() > limit) {
			return fmt.Errorf("%w: %s: %d rows of %d elements are more than %s binds at once (%d bytes)",
				gpu.ErrUnsupported, name, step, c, d.Info().Name, limit)
		}
	}
	olen := c
	if op == rowSum {
		olen = 1
	}
	for r0 := 0; r0 < r; r0 += part {
		n := min(part, r-r0)
		xv, ov := x, out
		if part < r {
			if xv, err = window(name, x, r0*c, n*c); err == nil {
				ov, err = window(name, out, r0*olen, n*olen)
			}
			if err != nil {
				return err
			}
		}
		wv := w
		if hasW == 0 {
			wv = xv // unused binding
		}
		groups, err := group1D(d, n, 1)
		if err != nil {
			return err
		}
		if err := s.Dispatch(k, groups, gpu.Push(uint32(n), uint32(c), eps, hasW), xv, wv, ov); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// RowSum records out[r] = Σ_c x[r, c], x [..., C] F32, out with x's shape less its last dimension.
func RowSum(s *gpu.Stream, out, x *gpu.Tensor) error {
	if _, _, err := rowsLayout("rowsum", x); err != nil {
		return err
	}
	sh := x.Shape()
	if err := checkTensor("rowsum", "out", out, gpu.F32, sh[:len(sh)-1]...); err != nil {
		return err
	}
	return rows(s, "rowsum", rowSum, out, x, nil, 0)
}

// RMSNorm records out = x / sqrt(mean(x²) + eps) · weight over the last dimension C of x (F32);
// weight [C] may be nil (no scaling). out has x's shape and may alias x.
func RMSNorm(s *gpu.Stream, out, x, weight *gpu.Tensor, eps float32) error {
	_, c, err := rowsLayout(rmsName, x)
	if err != nil {
		return err
	}
	if err := checkTensor(rmsName, "out", out, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	if weight != nil {
		if err := checkTensor(rmsName, "weight", weight, gpu.F32, c); err != nil {
			return err
		}
	}
	if !(eps >= 0) {
		return shapeErr(rmsName, "eps = %v, want ≥ 0", eps)
	}
	return rows(s, rmsName, rowRMS, out, x, weight, eps)
}

// L2Norm records out = x / sqrt(Σx² + eps) over the last dimension of x (F32); eps ≤ 0 means
// 1e-6, the convention of docs/design.md §6 and flash-linear-attention. out has x's shape and may alias x.
func L2Norm(s *gpu.Stream, out, x *gpu.Tensor, eps float32) error {
	if _, _, err := rowsLayout("l2norm", x); err != nil {
		return err
	}
	if err := checkTensor("l2norm", "out", out, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	if eps <= 0 {
		eps = l2Eps
	}
	return rows(s, "l2norm", rowL2, out, x, nil, eps)
}
