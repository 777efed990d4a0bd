// Package ops holds vkseq's kernels. Each op validates its tensors, picks a pipeline for the device
// (tile shapes from tuning.go) and records dispatches on a gpu.Stream; nothing runs until the
// stream is submitted, so many ops can be chained without a host round trip. Outputs are tensors
// the caller allocates (so a decode loop allocates nothing); inputs are never modified unless an
// op's documentation says so.
package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

// ErrInvalidArgument is wrapped by every error about an op's arguments: a nil, mis-shaped or
// mistyped tensor, tensors on different devices, or an out-of-range parameter. It wraps
// gpu.ErrInvalid, so errors.Is(err, gpu.ErrInvalid) holds for these errors too.
var ErrInvalidArgument error = &invalidArgument{}

// invalidArgument is ErrInvalidArgument's type: its message is "ops: invalid argument" and it
// unwraps to gpu.ErrInvalid.
type invalidArgument struct{}

func (*invalidArgument) Error() string { return "ops: invalid argument" }
func (*invalidArgument) Unwrap() error { return gpu.ErrInvalid }

func shapeErr(op, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidArgument, op, fmt.Sprintf(format, args...))
}

// kernel returns the cached pipeline of shaders/<name>.comp with the given bindings, push size and
// specialization constants.
func kernel(d *gpu.Device, name string, bindings []gpu.Access, push int, spec ...uint32) (*gpu.Kernel, error) {
	code, err := shaders.SPIRV(name)
	if err != nil {
		return nil, err
	}
	return d.Kernel(gpu.KernelSpec{Name: name, SPIRV: code, Bindings: bindings, PushSize: push, Spec: spec})
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// checkTensor verifies a tensor's dtype and shape.
func checkTensor(op, name string, t *gpu.Tensor, dt gpu.DType, shape ...int) error {
	if t == nil {
		return shapeErr(op, "%s is nil", name)
	}
	if t.DType() != dt {
		return shapeErr(op, "%s has dtype %v, want %v", name, t.DType(), dt)
	}
	got := t.Shape()
	ok := len(got) == len(shape)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i] == shape[i]
	}
	if !ok {
		return shapeErr(op, "%s has shape %v, want %v", name, got, shape)
	}
	return nil
}

// group1D folds n invocations of workgroups of size local into a grid the device accepts.
func group1D(d *gpu.Device, n, local int) ([3]uint32, error) {
	groups := ceilDiv(n, local)
	maxX := int(d.Info().MaxWorkgroupCount[0])
	if groups <= maxX {
		return [3]uint32{uint32(max(groups, 0)), 1, 1}, nil
	}
	y := ceilDiv(groups, maxX)
	if y > int(d.Info().MaxWorkgroupCount[1]) {
		return [3]uint32{}, fmt.Errorf("%w: %d invocations exceed the device's grid", ErrInvalidArgument, n)
	}
	return [3]uint32{uint32(ceilDiv(groups, y)), uint32(y), 1}, nil
}
