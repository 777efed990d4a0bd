package tensorio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"

	"github.com/nlpodyssey/safetensors"
)

// view adapts a validated Tensor to the safetensors library's View interface.
// Data encodes the values when the library asks for them, one tensor at a
// time, so writing needs at most one tensor's bytes beyond the tensors.
type view struct {
	t     *Tensor
	shape []uint64
}

// DType implements safetensors.View.
func (v view) DType() safetensors.DType {
	if v.t.I32 != nil {
		return safetensors.I32
	}
	return safetensors.F32
}

// Shape implements safetensors.View.
func (v view) Shape() []uint64 { return v.shape }

// DataLen implements safetensors.View.
func (v view) DataLen() uint64 { return 4 * uint64(len(v.t.F32)+len(v.t.I32)) }

// Data implements safetensors.View.
func (v view) Data() []byte {
	b := make([]byte, 0, v.DataLen())
	for _, x := range v.t.F32 {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	for _, x := range v.t.I32 {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	return b
}

// prepareViews checks the tensors for Write: names unique and not
// "__metadata__" (any other string, even empty, is a valid safetensors name);
// DType F32 (or empty, meaning F32) with values in F32 and I32 empty, or I32
// with values in I32 and F32 empty; no negative dimension; and as many values
// as the product of Shape (1 for an empty Shape).
func prepareViews(tensors []Tensor) (map[string]view, error) {
	views := make(map[string]view, len(tensors))
	for i := range tensors {
		t := tensors[i] // copy, so that the F32/I32 choice below stays ours
		if t.Name == "__metadata__" {
			return nil, fmt.Errorf("tensorio: write: tensor name %q is reserved", t.Name)
		}
		if _, dup := views[t.Name]; dup {
			return nil, fmt.Errorf("tensorio: write: tensor name %q appears twice", t.Name)
		}
		switch t.DType {
		case F32, "":
			if len(t.I32) != 0 {
				return nil, errorf(ErrDType, "tensorio: write: tensor %q has dtype F32 but holds int32 values", t.Name)
			}
			t.I32 = nil
			if t.F32 == nil {
				t.F32 = []float32{}
			}
		case I32:
			if len(t.F32) != 0 {
				return nil, errorf(ErrDType, "tensorio: write: tensor %q has dtype I32 but holds float32 values", t.Name)
			}
			t.F32 = nil
			if t.I32 == nil {
				t.I32 = []int32{}
			}
		default:
			return nil, errorf(ErrDType, "tensorio: write: tensor %q has dtype %s; only F32 and I32 can be written", t.Name, t.DType)
		}
		shape := make([]uint64, len(t.Shape)) // never nil: a scalar's shape is written as []
		elems := uint64(1)
		for j, d := range t.Shape {
			if d < 0 {
				return nil, errorf(ErrShape, "tensorio: write: tensor %q has negative dimension in shape %s", t.Name, formatShape(t.Shape))
			}
			shape[j] = uint64(d)
			hi, lo := bits.Mul64(elems, uint64(d))
			if hi != 0 || lo > math.MaxInt {
				return nil, errorf(ErrShape, "tensorio: write: tensor %q: shape %s has too many elements", t.Name, formatShape(t.Shape))
			}
			elems = lo
		}
		if n := len(t.F32) + len(t.I32); uint64(n) != elems {
			return nil, errorf(ErrShape, "tensorio: write: tensor %q has shape %s (%d elements) but %d values", t.Name, formatShape(t.Shape), elems, n)
		}
		views[t.Name] = view{t: &t, shape: shape}
	}
	return views, nil
}

// Write writes tensors as a safetensors file to w, with metadata (may be nil)
// as its "__metadata__". Each tensor must be F32 (DType F32 or empty, values
// in F32) or I32 (values in I32), with as many values as the product of its
// Shape; names must be unique and not "__metadata__". The output is
// deterministic: the data holds the F32 tensors sorted by name, then the I32
// tensors sorted by name, and the header's keys are sorted. Nothing is written
// if the tensors are invalid.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	views, err := prepareViews(tensors)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if err := safetensors.SerializeToWriter(views, metadata, bw); err != nil {
		return fmt.Errorf("tensorio: write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("tensorio: write: %w", err)
	}
	return nil
}

// WriteFile writes tensors and metadata to path as Write does. It writes a
// temporary file in the same directory and renames it over path only once
// everything is written and synced, so path never holds a half-written file;
// on error the temporary file is removed and path is left as it was. The file
// gets mode 0644.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	if _, err := prepareViews(tensors); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = Write(tmp, tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
