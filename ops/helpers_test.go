package ops

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// Tolerances of docs/design.md §10: relative L2 error against the float64 reference.
const (
	tolF32 = 1e-5
	tolF16 = 2e-3
)

var sharedDevice *gpu.Device

// TestMain opens one device for the package; validation messages fail the run.
func TestMain(m *testing.M) {
	d, err := gpu.Open()
	if err != nil {
		if errors.Is(err, gpu.ErrNoDevice) && os.Getenv("VKSEQ_REQUIRE_DEVICE") == "" {
			println("ops tests skipped: no Vulkan device:", err.Error())
			os.Exit(0)
		}
		println("ops tests: opening the device:", err.Error())
		os.Exit(1)
	}
	sharedDevice = d
	code := m.Run()
	d.Close()
	msgs, n := gpu.ValidationMessages()
	for _, msg := range msgs {
		println(msg.String())
	}
	if n > 0 {
		println("validation layer messages:", n)
		code = 1
	} else if d.Validating() {
		println("validation layer: 0 messages")
	}
	os.Exit(code)
}

func device(t testing.TB) *gpu.Device {
	t.Helper()
	return sharedDevice
}

// newRand returns a generator with a fresh seed, logged so that a failure can be replayed:
// VKSEQ_SEED=<seed> makes every test use that seed.
func newRand(t testing.TB) *rand.Rand {
	seed := rand.Uint64()
	if s, err := strconv.ParseUint(os.Getenv("VKSEQ_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

func randn(r *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64() * scale
	}
	return x
}

// upload makes a tensor of dt from float64 values rounded to float32 (the reference sees the rounded values).
func upload(t testing.TB, d *gpu.Device, dt gpu.DType, x []float64, shape ...int) *gpu.Tensor {
	t.Helper()
	ten, err := d.NewTensor(dt, shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	if err := ten.WriteFloat32(reference.ToFloat32(x)); err != nil {
		t.Fatal(err)
	}
	return ten
}

// poisoned allocates an output filled with NaN, so an element no shader writes fails the comparison.
func poisoned(t testing.TB, d *gpu.Device, dt gpu.DType, shape ...int) *gpu.Tensor {
	t.Helper()
	ten, err := d.NewTensor(dt, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := ten.Fill(float32(math.NaN())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	return ten
}

func stream(t testing.TB, d *gpu.Device) *gpu.Stream {
	t.Helper()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func read(t testing.TB, ten *gpu.Tensor) []float32 {
	t.Helper()
	out, err := ten.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rounded returns x as the float32 values the GPU received.
func rounded(x []float64) []float64 { return reference.ToFloat64(reference.ToFloat32(x)) }

func checkErr(t testing.TB, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	e := reference.RelErr(got, want)
	if !(e <= tol) {
		t.Errorf("%s: relative error %.3g > %.0e", what, e, tol)
	} else {
		t.Logf("%s: relative error %.3g", what, e)
	}
}
