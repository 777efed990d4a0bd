package reference

import (
	"fmt"
	"math"
	"sort"
)

// SoftplusThreshold is the input above which Softplus returns x itself, as
// torch.nn.functional.softplus does with its default beta = 1, threshold = 20.
const SoftplusThreshold = 20.0

// Add returns a + b element by element. a and b must have the same length.
func Add(a, b []float64) ([]float64, error) {
	return Binary("add", a, b)
}

// Mul returns a ⊙ b element by element. a and b must have the same length.
func Mul(a, b []float64) ([]float64, error) {
	return Binary("mul", a, b)
}

// Scale returns alpha·x element by element.
func Scale(x []float64, alpha float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = alpha * v
	}
	return y
}

// Exp returns exp(x) element by element.
func Exp(x []float64) []float64 { return eltMap(x, math.Exp) }

// Sigmoid returns 1 / (1 + exp(−x)) element by element, evaluated so that no
// intermediate overflows for large |x|.
func Sigmoid(x []float64) []float64 { return eltMap(x, eltSigmoid) }

// SiLU returns x · sigmoid(x) element by element.
func SiLU(x []float64) []float64 { return eltMap(x, eltSiLU) }

// Softplus returns log(1 + exp(x)) element by element, and x itself where
// x > SoftplusThreshold (20), matching torch's default.
func Softplus(x []float64) []float64 { return eltMap(x, eltSoftplus) }

var eltUnary = map[string]func(float64) float64{
	"exp":      math.Exp,
	"sigmoid":  eltSigmoid,
	"silu":     eltSiLU,
	"softplus": eltSoftplus,
	"gelu":     GELU1,
}

var eltBinary = map[string]func(a, b float64) float64{
	"add": func(a, b float64) float64 { return a + b },
	"mul": func(a, b float64) float64 { return a * b },
}

// UnaryOps returns the names Unary accepts, sorted: exp, gelu, sigmoid, silu,
// softplus.
func UnaryOps() []string { return eltNames(eltUnary) }

// BinaryOps returns the names Binary accepts, sorted: add, mul.
func BinaryOps() []string { return eltNames(eltBinary) }

// Unary applies the element-wise function named op ("exp", "gelu", "sigmoid", "silu"
// or "softplus", as Exp, GELU, Sigmoid, SiLU and Softplus) to x and returns a new
// slice of the same length. An unknown name is an error.
func Unary(op string, x []float64) ([]float64, error) {
	f, ok := eltUnary[op]
	if !ok {
		return nil, fmt.Errorf("reference: unary: unknown op %q, want one of %q", op, UnaryOps())
	}
	return eltMap(x, f), nil
}

// Binary applies the element-wise function named op ("add" or "mul") to a and
// b, which must have the same length, and returns a new slice of that length.
// An unknown name or a length mismatch is an error.
func Binary(op string, a, b []float64) ([]float64, error) {
	f, ok := eltBinary[op]
	if !ok {
		return nil, fmt.Errorf("reference: binary: unknown op %q, want one of %q", op, BinaryOps())
	}
	if len(a) != len(b) {
		return nil, fmt.Errorf("reference: %s: len(a) = %d, len(b) = %d, want equal lengths", op, len(a), len(b))
	}
	y := make([]float64, len(a))
	for i := range a {
		y[i] = f(a[i], b[i])
	}
	return y, nil
}

func eltMap(x []float64, f func(float64) float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = f(v)
	}
	return y
}

func eltSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func eltSiLU(x float64) float64 { return x * eltSigmoid(x) }

func eltSoftplus(x float64) float64 {
	if x > SoftplusThreshold {
		return x
	}
	return math.Log1p(math.Exp(x))
}

func eltNames[F any](m map[string]F) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
