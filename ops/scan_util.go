package ops

import (
	"github.com/vkseq/vkseq/gpu"
)

// Helpers shared by the SSM ops (selective scan, SSD, causal conv1d).

// checkAct verifies an activation tensor: F32, or F16 where the device has 16-bit storage, with
// the given shape.
func checkAct(op, name string, t *gpu.Tensor, dt gpu.DType, shape ...int) error {
	if t == nil {
		return shapeErr(op, "%s is nil", name)
	}
	if t.DType() != gpu.F32 && t.DType() != gpu.F16 {
		return shapeErr(op, "%s has dtype %v, want f32 or f16", name, t.DType())
	}
	if err := checkTensor(op, name, t, dt, shape...); err != nil {
		return err
	}
	if dt == gpu.F16 && !t.Device().Info().Float16Storage {
		return shapeErr(op, "%s is f16 but the device has no 16-bit storage (use f32)", name)
	}
	return nil
}

// checkOpt verifies an optional tensor (nil passes).
func checkOpt(op, name string, t *gpu.Tensor, dt gpu.DType, shape ...int) error {
	if t == nil {
		return nil
	}
	return checkTensor(op, name, t, dt, shape...)
}

// actName is the SPIR-V module of a shader family for an activation dtype: base or base_f16.
func actName(base string, dt gpu.DType) string {
	if dt == gpu.F16 {
		return base + "_f16"
	}
	return base
}

// texelName is the texel-buffer variant of kernel name (name + "_t": its read-only inputs bound
// with gpu.Texel) when texel is set.
func texelName(name string, texel bool) string {
	if texel {
		return name + "_t"
	}
	return name
}

// texelBindable reports whether every non-nil tensor of ts can be bound with gpu.Texel.
func texelBindable(ts ...*gpu.Tensor) bool {
	for _, t := range ts {
		if t != nil && !t.TexelBindable() {
			return false
		}
	}
	return true
}

// orDummy returns t, or fallback when t is nil (an unused binding still needs a buffer).
func orDummy(t, fallback *gpu.Tensor) *gpu.Tensor {
	if t == nil {
		return fallback
	}
	return t
}

// rowPart is one dispatch of a row-split op: rows [row0, row0+rows) bound through views whose
// element base is the offset of row0's first element.
type rowPart struct {
	row0, rows, base int
	views            []*gpu.Tensor
}

// splitRows plans dispatches over rows of rowLen elements of the tensors ts (one dtype; nil
// entries stay nil) so that every bound range fits the device's MaxStorageBufferRange; every part
// but the last has a multiple of rowAlign rows. When all of them fit there is one part binding
// the whole tensors.
func splitRows(op string, d *gpu.Device, rows, rowLen, rowAlign int, ts ...*gpu.Tensor) ([]rowPart, error) {
	limit := bindRange(d)
	esize, fits := 4, true
	for _, t := range ts {
		if t != nil {
			esize = t.DType().Size()
			fits = fits && t.Bytes() <= limit
		}
	}
	if fits || rows == 0 || rowLen == 0 {
		return []rowPart{{row0: 0, rows: rows, base: 0, views: ts}}, nil
	}
	align := alignElems(d, gpu.DType(0))
	if esize == 2 {
		align = alignElems(d, gpu.F16)
	}
	perPart := (int(limit/uint64(esize)) - align) / rowLen
	perPart -= perPart % max(rowAlign, 1)
	if perPart < 1 {
		return nil, shapeErr(op, "%d rows (one workgroup's) of %d elements are more than the device binds at once (%d bytes)",
			max(rowAlign, 1), rowLen, limit)
	}
	var parts []rowPart
	for r0 := 0; r0 < rows; r0 += perPart {
		n := min(perPart, rows-r0)
		start := r0 * rowLen
		astart := start - start%align
		part := rowPart{row0: r0, rows: n, base: start - astart, views: make([]*gpu.Tensor, len(ts))}
		for i, t := range ts {
			v, err := window(op, t, astart, part.base+n*rowLen)
			if err != nil {
				return nil, err
			}
			part.views[i] = v
		}
		parts = append(parts, part)
	}
	return parts, nil
}
