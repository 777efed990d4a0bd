package ops

import "fmt"

// Form selects how a prefill entry point (GLA, DeltaRule, SSD) computes its sequence: the
// chunked form (GEMM-shaped work per chunk, the path GPUs favour) or the recurrent form (one
// token at a time, which CPU devices such as lavapipe can run faster at some shapes). Both give
// the same result within the op's tolerance.
type Form int

const (
	// FormAuto lets the op choose the faster form for the device and shape, from the measured
	// crossovers in tuning.go. It is the zero value.
	FormAuto Form = iota
	// FormChunked forces the chunked form.
	FormChunked
	// FormRecurrent forces the recurrent form.
	FormRecurrent
)

// String names the form as vkbench reports it: "auto", "chunked" or "recurrent".
func (f Form) String() string {
	switch f {
	case FormAuto:
		return "auto"
	case FormChunked:
		return "chunked"
	case FormRecurrent:
		return "recurrent"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// checkForm refuses a Form value outside the three above.
func checkForm(op string, f Form) error {
	if f < FormAuto || f > FormRecurrent {
		return fmt.Errorf("%s: %w: Form %d, expected FormAuto, FormChunked or FormRecurrent", op, ErrInvalidArgument, int(f))
	}
	return nil
}
