package suite

import (
	"github.com/vkseq/vkseq/gpu"
)

// Memory planning of the suite's requests: before any input is generated, a request's buffers are
// sized from its shape and refused with an error naming the sizes and the limits when they cannot
// fit (`vkbench bench -shape` with a huge shape is an error, not a crash of the process).

// hostBytesPerValue is what one value of a request's tensors costs on the host at most: the
// float64 input or reference output, its float32 (or rounded float64) copy made for the upload,
// and the reference's own float64 result.
const hostBytesPerValue = 32

// deviceOverhead covers the scratch buffers of the chunked forms and the pool's rounding.
const deviceOverhead = 1.5

// checkRequest refuses a request whose tensors hold values values in all (inputs, outputs,
// states; as float64 so that no product of sizes overflows) of storage type dt: host memory
// (gpu.CheckHostMemory) and the device's (Device.CheckMemory). what names the request (op and shape).
func checkRequest(d *gpu.Device, what string, values float64, dt gpu.DType) error {
	if err := gpu.CheckHostMemory(what, values*hostBytesPerValue); err != nil {
		return err
	}
	return d.CheckMemory(what, values*float64(dt.Size())*deviceOverhead)
}

// prod is the product of sizes as a float64 (no overflow).
func prod(sizes ...int) float64 {
	p := 1.0
	for _, s := range sizes {
		p *= float64(s)
	}
	return p
}
