package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// UnaryOp names an element-wise function.
type UnaryOp int

// The element-wise functions of Unary.
const (
	Exp      UnaryOp = 3 // e^x
	SiLU     UnaryOp = 4 // x·sigmoid(x)
	Sigmoid  UnaryOp = 5 // 1/(1+e^-x)
	Softplus UnaryOp = 6 // log(1+e^x), and x above 20 as torch's default threshold
	GELU     UnaryOp = 7 // x·Φ(x) = x/2·(1+erf(x/√2)), torch.nn.GELU() (exact, not tanh)
)

const (
	eltAdd   = 0
	eltMul   = 1
	eltScale = 2
)

var unaryNames = map[UnaryOp]string{Exp: "exp", SiLU: "silu", Sigmoid: "sigmoid", Softplus: "softplus", GELU: "gelu"}

// String is the op's name as ParseUnaryOp takes it.
func (u UnaryOp) String() string {
	if n, ok := unaryNames[u]; ok {
		return n
	}
	return fmt.Sprintf("UnaryOp(%d)", int(u))
}

// ParseUnaryOp returns the op named "exp", "silu", "sigmoid", "softplus" or "gelu".
func ParseUnaryOp(name string) (UnaryOp, error) {
	for u, n := range unaryNames {
		if n == name {
			return u, nil
		}
	}
	return 0, shapeErr("unary", "unknown op %q (want exp, silu, sigmoid, softplus or gelu)", name)
}

const eltLocal = 64

// eltwise records out = op(x, y) over every element. out may be x or y.
func eltwise(s *gpu.Stream, name string, op int, out, x, y *gpu.Tensor, alpha float32) error {
	if err := checkTensor(name, "x", x, gpu.F32, shapeOf(x)...); err != nil {
		return err
	}
	if err := checkTensor(name, "out", out, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	if y != nil {
		if err := checkTensor(name, "y", y, gpu.F32, x.Shape()...); err != nil {
			return err
		}
	} else {
		y = x
	}
	n := x.Len()
	if n == 0 {
		return nil
	}
	d := s.Device()
	vec := n%4 == 0
	k, err := kernel(d, "eltwise", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 8, eltLocal, uint32(op), b2u(vec))
	if err != nil {
		return err
	}
	// Parts of at most one binding each, starting at aligned multiples of 4 elements (so that the
	// vec4 path sees whole vec4s); one part when every tensor fits.
	limit := bindRange(d)
	part := n
	if x.Bytes() > limit || y.Bytes() > limit || out.Bytes() > limit {
		step := lcm(alignElems(d, gpu.F32), 4)
		part = int(limit/4) / step * step
	}
	for i0 := 0; i0 < n; i0 += part {
		m := min(part, n-i0)
		xv, yv, ov := x, y, out
		if part < n {
			if xv, err = window(name, x, i0, m); err == nil {
				if yv, err = window(name, y, i0, m); err == nil {
					ov, err = window(name, out, i0, m)
				}
			}
			if err != nil {
				return err
			}
		}
		groups, err := group1D(d, ceilDiv(m, 4), eltLocal)
		if err != nil {
			return err
		}
		if err := s.Dispatch(k, groups, gpu.Push(uint32(m), alpha), xv, yv, ov); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func shapeOf(t *gpu.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape()
}

// Add records out = a + b element-wise; all F32 of one shape. out may alias a or b.
func Add(s *gpu.Stream, out, a, b *gpu.Tensor) error { return eltwise(s, "add", eltAdd, out, a, b, 0) }

// Mul records out = a ⊙ b element-wise; all F32 of one shape. out may alias a or b.
func Mul(s *gpu.Stream, out, a, b *gpu.Tensor) error { return eltwise(s, "mul", eltMul, out, a, b, 0) }

// Scale records out = alpha·x; F32 of one shape. out may alias x.
func Scale(s *gpu.Stream, out, x *gpu.Tensor, alpha float32) error {
	return eltwise(s, "scale", eltScale, out, x, nil, alpha)
}

// Unary records out = f(x) element-wise for the function f; F32 of one shape. out may alias x.
// Results smaller in magnitude than float32's smallest normal number (about 1.2e-38, e.g. exp(x)
// for x < -87) may be flushed to zero, as many devices flush denormals.
func Unary(s *gpu.Stream, out, x *gpu.Tensor, f UnaryOp) error {
	if _, ok := unaryNames[f]; !ok {
		return shapeErr("unary", "unknown op %v", f)
	}
	return eltwise(s, f.String(), int(f), out, x, nil, 0)
}
