// Package tensorio reads and writes safetensors files: the inputs and outputs
// of `vkbench run` (docs/design.md §12) and model weights.
//
// The file format (an 8-byte little-endian header length, a JSON header naming
// every tensor's dtype, shape and byte range, then the raw little-endian data)
// is parsed and written with github.com/nlpodyssey/safetensors; half precision
// is decoded with github.com/x448/float16. This package adds what vkseq needs
// on top: strict validation so that no input, however malformed, makes it
// panic; conversion of every supported dtype to the two host types the GPU
// code uses (float32 and int32); and accessors that check names, shapes and
// dtypes and say exactly what was expected.
//
// Reading streams the tensor data straight into the converted host slices, so
// a file needs at most about twice its size in memory (F16 and BF16 data
// doubles when widened to float32; F32 and I32 need once their size; F64 and
// I64 half).
package tensorio

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DType names an element type as spelled in a safetensors header ("F32",
// "F16", ...). In a Tensor read from a file it is the dtype stored in the
// file; the values themselves are always held as float32 (F32 field, for the
// float dtypes) or int32 (I32 field, for the integer dtypes).
type DType string

// The dtypes this package reads. Write accepts only F32 and I32.
const (
	F32  DType = "F32"  // 32-bit float, held as float32 unchanged.
	F64  DType = "F64"  // 64-bit float, rounded to float32 (loses precision; magnitudes above float32 range become ±Inf).
	F16  DType = "F16"  // IEEE half, widened to float32 exactly.
	BF16 DType = "BF16" // bfloat16, widened to float32 exactly.
	I32  DType = "I32"  // 32-bit signed integer, held as int32 unchanged.
	I64  DType = "I64"  // 64-bit signed integer, narrowed to int32; a value outside int32 range is an error.
)

// IsFloat reports whether d is one of the float dtypes read into Tensor.F32
// (F32, F64, F16, BF16).
func (d DType) IsFloat() bool { return d == F32 || d == F64 || d == F16 || d == BF16 }

// IsInt reports whether d is one of the integer dtypes read into Tensor.I32
// (I32, I64).
func (d DType) IsInt() bool { return d == I32 || d == I64 }

// Any is the wildcard entry for expected shapes: a dimension given as Any (-1)
// matches any size, so a caller can read a tensor first and take its
// dimensions from it.
const Any = -1

// Sentinel errors. Every error this package returns for bad input wraps
// exactly one of them (test with errors.Is); I/O errors from the underlying
// reader or writer are wrapped as well and can be tested in the same way.
var (
	// ErrFormat: the bytes are not a well-formed safetensors file (truncated,
	// bad header length, invalid JSON header, offsets that overlap, leave gaps
	// or run past the end, shapes that do not match their byte ranges, ...).
	ErrFormat = errors.New("malformed safetensors file")
	// ErrDType: a tensor has a dtype this package cannot convert, an I64
	// value does not fit in int32, an accessor asked for float data from an
	// integer tensor (or the reverse), or Write was given an unsupported dtype.
	ErrDType = errors.New("unsupported or wrong tensor dtype")
	// ErrShape: a tensor does not have the shape the caller expects, or a
	// tensor passed to Write has data that does not match its shape.
	ErrShape = errors.New("wrong tensor shape")
	// ErrMissing: a required tensor is not in the file.
	ErrMissing = errors.New("missing tensor")
	// ErrUnknown: the file holds tensors the caller does not take (CheckKnown).
	ErrUnknown = errors.New("unknown tensor")
)

// kindError carries a precise message and wraps both its sentinel kind and,
// when there is one, the underlying cause.
type kindError struct {
	kind error
	err  error
}

// Error returns the message.
func (e *kindError) Error() string { return e.err.Error() }

// Unwrap returns the wrapped error.
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// errorf formats a message (with %w allowed) and tags it with kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

// Tensor is a host tensor: a name, a dtype, a shape in row-major (C) order and
// its values. For a float dtype (F32, F64, F16, BF16) the values are in F32 and
// I32 is nil; for an integer dtype (I32, I64) they are in I32 and F32 is nil.
// The number of values is the product of Shape (1 for a scalar, whose Shape is
// empty).
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	F32   []float32
	I32   []int32
}

// File is the content of a safetensors file after Read: its tensors, converted
// to host types, and its "__metadata__" strings. The slices returned by its
// accessors are shared with the File, not copied. A nil *File behaves as an
// empty file.
type File struct {
	tensors  map[string]*Tensor
	names    []string // sorted
	metadata map[string]string
}

// Names returns the names of all tensors in the file, sorted.
func (f *File) Names() []string {
	if f == nil {
		return nil
	}
	return slices.Clone(f.names)
}

// Metadata returns a copy of the file's "__metadata__" map (nil if it has none).
func (f *File) Metadata() map[string]string {
	if f == nil || f.metadata == nil {
		return nil
	}
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}

// Get returns the named tensor and whether it exists. The returned Tensor's
// slices are shared with the File.
func (f *File) Get(name string) (Tensor, bool) {
	if f == nil {
		return Tensor{}, false
	}
	t, ok := f.tensors[name]
	if !ok {
		return Tensor{}, false
	}
	return *t, true
}

// Shape returns a copy of the named tensor's shape and whether it exists.
func (f *File) Shape(name string) ([]int, bool) {
	t, ok := f.Get(name)
	if !ok {
		return nil, false
	}
	return slices.Clone(t.Shape), true
}

// Float32 returns the values of a required float tensor (stored as F32, F64,
// F16 or BF16), checked against the expected shape: each entry is a size or
// Any (-1); no entries at all accept any shape. It is an error (naming the
// tensor and the expected shape) if the tensor is missing (ErrMissing), has
// another shape (ErrShape) or holds integers (ErrDType).
func (f *File) Float32(name string, shape ...int) ([]float32, error) {
	v, ok, err := f.OptionalFloat32(name, shape...)
	if err == nil && !ok {
		err = errorf(ErrMissing, "missing required input tensor %q, expected shape %s", name, formatExpected(shape))
	}
	return v, err
}

// OptionalFloat32 is Float32 for an optional tensor: a missing tensor gives
// (nil, false, nil); a present one is checked like Float32.
func (f *File) OptionalFloat32(name string, shape ...int) ([]float32, bool, error) {
	t, ok := f.Get(name)
	if !ok {
		return nil, false, checkExpected(name, shape)
	}
	if !t.DType.IsFloat() {
		return nil, true, errorf(ErrDType, "input tensor %q has dtype %s, expected a float dtype (F32, F64, F16 or BF16)", name, t.DType)
	}
	if err := checkShape(name, t.Shape, shape); err != nil {
		return nil, true, err
	}
	return t.F32, true, nil
}

// Int32 returns the values of a required integer tensor (stored as I32 or
// I64), checked against the expected shape like Float32. It is an error if
// the tensor is missing (ErrMissing), has another shape (ErrShape) or holds
// floats (ErrDType).
func (f *File) Int32(name string, shape ...int) ([]int32, error) {
	v, ok, err := f.OptionalInt32(name, shape...)
	if err == nil && !ok {
		err = errorf(ErrMissing, "missing required input tensor %q, expected shape %s", name, formatExpected(shape))
	}
	return v, err
}

// OptionalInt32 is Int32 for an optional tensor: a missing tensor gives
// (nil, false, nil); a present one is checked like Int32.
func (f *File) OptionalInt32(name string, shape ...int) ([]int32, bool, error) {
	t, ok := f.Get(name)
	if !ok {
		return nil, false, checkExpected(name, shape)
	}
	if !t.DType.IsInt() {
		return nil, true, errorf(ErrDType, "input tensor %q has dtype %s, expected an integer dtype (I32 or I64)", name, t.DType)
	}
	if err := checkShape(name, t.Shape, shape); err != nil {
		return nil, true, err
	}
	return t.I32, true, nil
}

// CheckKnown returns an error (ErrUnknown) naming every tensor in the file
// whose name is not among allowed, e.g.
// `unknown input tensor "x"; op takes: a, b`, or nil if there is none.
func (f *File) CheckKnown(allowed ...string) error {
	var unknown []string
	for _, n := range f.Names() {
		if !slices.Contains(allowed, n) {
			unknown = append(unknown, strconv.Quote(n))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	takes := "op takes no input tensors"
	if len(allowed) > 0 {
		takes = "op takes: " + strings.Join(allowed, ", ")
	}
	noun := "tensor"
	if len(unknown) > 1 {
		noun = "tensors"
	}
	return errorf(ErrUnknown, "unknown input %s %s; %s", noun, strings.Join(unknown, ", "), takes)
}

// checkExpected rejects expected shapes with entries below Any; such a shape
// is a programming error in the caller, reported as an error, not a panic.
func checkExpected(name string, want []int) error {
	for _, d := range want {
		if d < Any {
			return fmt.Errorf("tensorio: invalid expected shape %v for tensor %q: sizes must be >= 0 or Any (-1)", want, name)
		}
	}
	return nil
}

func checkShape(name string, got, want []int) error {
	if err := checkExpected(name, want); err != nil {
		return err
	}
	if len(want) == 0 {
		return nil
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = want[i] == Any || want[i] == got[i]
	}
	if !ok {
		return errorf(ErrShape, "input tensor %q has shape %s, expected %s", name, formatShape(got), formatExpected(want))
	}
	return nil
}

// formatShape writes a shape the way PyTorch users read it: [2, 3].
func formatShape(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// formatExpected is formatShape with Any shown as *; no entries means any shape.
func formatExpected(s []int) string {
	if len(s) == 0 {
		return "any"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		if d == Any {
			parts[i] = "*"
		} else {
			parts[i] = strconv.Itoa(d)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
