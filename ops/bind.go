package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// Binding-range helpers: every op that may see a tensor larger than one storage binding
// (gpu.DeviceInfo.MaxStorageBufferRange, 128 MiB on lavapipe) plans its dispatches with these.

// testBindLimit, when set by a test, lowers the binding range the ops plan for, so that the split
// paths run on small tensors.
var testBindLimit uint64

// bindRange is the most bytes one binding may cover on d (tests may lower it with testBindLimit).
func bindRange(d *gpu.Device) uint64 {
	lim := d.Info().MaxStorageBufferRange
	if testBindLimit > 0 {
		lim = min(lim, testBindLimit)
	}
	return lim
}

// alignElems is the element granularity at which a window of a tensor of dtype dt may start on d
// (the device's StorageAlignment in elements; at least 1).
func alignElems(d *gpu.Device, dt gpu.DType) int {
	a, es := int(d.Info().StorageAlignment), dt.Size()
	if a <= es {
		return 1
	}
	if a%es != 0 {
		return a // a multiple of the byte alignment in any case
	}
	return a / es
}

// bindSpan binds elements [start, start+n) of t through a view that starts at the aligned element
// at or before start and returns the view and start's offset in it. A tensor of at most limit bytes
// is bound whole (offset start). A nil t gives a nil view.
func bindSpan(op string, t *gpu.Tensor, start, n int, limit uint64) (*gpu.Tensor, int, error) {
	if t == nil {
		return nil, 0, nil
	}
	if t.Bytes() <= limit {
		return t, start, nil
	}
	a := start - start%alignElems(t.Device(), t.DType())
	v, err := window(op, t, a, start-a+n)
	return v, start - a, err
}

// window is t.Window(start, n) with an error naming op (nil for a nil t); start must be aligned
// (a multiple of alignElems).
func window(op string, t *gpu.Tensor, start, n int) (*gpu.Tensor, error) {
	if t == nil {
		return nil, nil
	}
	v, err := t.Window(start, n)
	if err != nil {
		return nil, fmt.Errorf("%s: binding elements [%d, %d) of %v: %w", op, start, start+n, t, err)
	}
	return v, nil
}

// gcd is the greatest common divisor of a, b ≥ 0.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// stepAlign is the least count q ≥ 1 such that q·stride elements is a multiple of align (the
// granularity of parts of stride elements each whose windows must start aligned).
func stepAlign(stride, align int) int {
	if stride <= 0 {
		return 1
	}
	return align / gcd(stride, align)
}

// lcm is the least common multiple of a, b ≥ 1.
func lcm(a, b int) int { return a / gcd(a, b) * b }
