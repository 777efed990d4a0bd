package ops

import (
	"errors"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestErrInvalidArgument: argument errors wrap ErrInvalidArgument, which wraps gpu.ErrInvalid, and
// say which op and tensor were wrong. No device is needed: the arguments are refused first.
func TestErrInvalidArgument(t *testing.T) {
	if got, want := ErrInvalidArgument.Error(), "ops: invalid argument"; got != want {
		t.Errorf("ErrInvalidArgument.Error() = %q, want %q", got, want)
	}
	if !errors.Is(ErrInvalidArgument, gpu.ErrInvalid) {
		t.Error("ErrInvalidArgument does not wrap gpu.ErrInvalid")
	}
	if errors.Is(gpu.ErrInvalid, ErrInvalidArgument) {
		t.Error("gpu.ErrInvalid wraps ErrInvalidArgument: the wrapping is the wrong way round")
	}
	err := GEMM(nil, nil, nil, nil, GEMMOptions{})
	if !errors.Is(err, ErrInvalidArgument) || !errors.Is(err, gpu.ErrInvalid) {
		t.Fatalf("GEMM with nil tensors: %v, want an error wrapping ErrInvalidArgument and gpu.ErrInvalid", err)
	}
	if got, want := err.Error(), "ops: invalid argument: gemm: a is nil"; got != want {
		t.Errorf("GEMM with nil tensors: %q, want %q", got, want)
	}
}
