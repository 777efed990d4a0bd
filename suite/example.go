package suite

import (
	"bytes"
	"math/rand/v2"

	"github.com/vkseq/vkseq/tensorio"
)

// ExampleTensor returns a named F32 tensor of the shape filled with normal values of the given scale.
func ExampleTensor(name string, scale float64, shape ...int) tensorio.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	r := rand.New(rand.NewPCG(uint64(n), 7))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return tensorio.Tensor{Name: name, DType: tensorio.F32, Shape: shape, F32: x}
}

// ExampleFile serialises tensors into an in-memory safetensors file, as Run receives them.
func ExampleFile(ts []tensorio.Tensor) (*tensorio.File, error) {
	var buf bytes.Buffer
	if err := tensorio.Write(&buf, ts, nil); err != nil {
		return nil, err
	}
	return tensorio.Read(&buf)
}
