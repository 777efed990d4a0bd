package ops

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// Test helpers of the SSM ops (selective scan, SSD, causal conv1d).

// dtypes are the activation dtypes the device can run.
func dtypes(d *gpu.Device) []gpu.DType {
	if d.Info().Float16Storage {
		return []gpu.DType{gpu.F32, gpu.F16}
	}
	return []gpu.DType{gpu.F32}
}

func tolFor(dt gpu.DType) float64 {
	if dt == gpu.F16 {
		return tolF16
	}
	return tolF32
}

// uploadAs makes a tensor of dt from x and returns the values the device holds (rounded to
// float32 or float16), which the reference must see.
func uploadAs(t testing.TB, d *gpu.Device, dt gpu.DType, x []float64, shape ...int) (*gpu.Tensor, []float64) {
	t.Helper()
	ten := upload(t, d, dt, x, shape...)
	return ten, reference.ToFloat64(read(t, ten))
}

func uniform(r *rand.Rand, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float64()
	}
	return x
}

// negExpUniform is A = −exp(uniform(0, 1)) (plus a spread over [-1, 0] in log space), the
// issue's distribution of the state matrix.
func negExpUniform(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = -math.Exp(r.Float64())
	}
	return x
}

// softplusUniform is softplus(uniform(−3, 1)): time steps as the issue asks (about 0.05 to 1.3).
func softplusUniform(r *rand.Rand, n int) []float64 {
	x := uniform(r, n, -3, 1)
	for i := range x {
		x[i] = math.Log1p(math.Exp(x[i]))
	}
	return x
}

// allNaN reports whether every value is NaN (an output the kernel must not have touched).
func allNaN(x []float32) bool {
	for _, v := range x {
		if !math.IsNaN(float64(v)) {
			return false
		}
	}
	return true
}

// withBindLimit lowers the binding range the SSM ops plan for during f.
func withBindLimit(bytes uint64, f func()) {
	old := testBindLimit
	testBindLimit = bytes
	defer func() { testBindLimit = old }()
	f()
}
