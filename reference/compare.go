package reference

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// RelErr returns the relative error ‖out − ref‖₂ / ‖ref‖₂ of a float32 result
// against its float64 reference (docs/design.md §10). out and ref must have
// the same length.
//
// The result is +Inf when the lengths differ or when any element of out or ref
// is NaN or ±Inf, so a non-finite output can never pass a "<= tolerance" test.
// When ‖ref‖₂ = 0 the absolute error ‖out‖₂ is returned instead. Two empty
// slices give 0.
func RelErr(out []float32, ref []float64) float64 {
	if len(out) != len(ref) {
		return math.Inf(1)
	}
	return RelErr64(ToFloat64(out), ref)
}

// RelErr64 is RelErr for a float64 result: ‖out − ref‖₂ / ‖ref‖₂, +Inf when the
// lengths differ or any element of out or ref is NaN or ±Inf, ‖out‖₂ when
// ‖ref‖₂ = 0.
func RelErr64(out, ref []float64) float64 {
	if len(out) != len(ref) || !compareAllFinite(out) || !compareAllFinite(ref) {
		return math.Inf(1)
	}
	if len(out) == 0 {
		return 0
	}
	diff := make([]float64, len(out))
	floats.SubTo(diff, out, ref)
	// floats.Norm with L = 2 scales its accumulation, so large values cannot
	// overflow the sum of squares.
	num := floats.Norm(diff, 2)
	den := floats.Norm(ref, 2)
	if den == 0 {
		return num
	}
	return num / den
}

// MaxAbsErr returns max_i |out[i] − ref[i]| for a float32 result against its
// float64 reference. It is +Inf when the lengths differ or any element of out
// or ref is NaN or ±Inf; two empty slices give 0.
func MaxAbsErr(out []float32, ref []float64) float64 {
	if len(out) != len(ref) {
		return math.Inf(1)
	}
	return MaxAbsErr64(ToFloat64(out), ref)
}

// MaxAbsErr64 is MaxAbsErr for a float64 result.
func MaxAbsErr64(out, ref []float64) float64 {
	if len(out) != len(ref) || !compareAllFinite(out) || !compareAllFinite(ref) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range out {
		if d := math.Abs(out[i] - ref[i]); d > m {
			m = d
		}
	}
	return m
}

// ToFloat64 returns a new []float64 holding x converted element by element.
func ToFloat64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// ToFloat32 returns a new []float32 holding x rounded to float32 element by
// element (values beyond the float32 range become ±Inf).
func ToFloat32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func compareAllFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
