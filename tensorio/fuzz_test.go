package tensorio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	var buf bytes.Buffer
	if err := Write(&buf, sampleTensors(), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	full := slices.Clone(buf.Bytes())
	seeds = append(seeds, full, full[:len(full)/2], full[:9], append(slices.Clone(full), 1, 2, 3))

	v16, _ := safetensors.NewTensorView(safetensors.F16, []uint64{2}, u16bytes(0x3C00, 0xFC00))
	vbf, _ := safetensors.NewTensorView(safetensors.BF16, []uint64{1, 1}, u16bytes(0x3F80))
	v64, _ := safetensors.NewTensorView(safetensors.F64, []uint64{1}, f64bytes(math.Pi))
	vi64, _ := safetensors.NewTensorView(safetensors.I64, []uint64{2}, i64bytes(1, -1))
	vu8, _ := safetensors.NewTensorView(safetensors.U8, []uint64{3}, []byte{1, 2, 3})
	s, err := safetensors.Serialize(map[string]safetensors.TensorView{"h": v16, "b": vbf, "d": v64, "i": vi64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, s)
	s, err = safetensors.Serialize(map[string]safetensors.TensorView{"m": vu8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, s)

	seeds = append(seeds,
		build(`{"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   `, f32bytes(1, 2)),
		build(`{}`, nil),
		build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
		build(`{"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, nil),
		build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil),
		build(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, i64bytes(1<<40)),
		build(`{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}`, make([]byte, 16)),
		withLen(1<<40, []byte(`{}`)),
		withLen(100, []byte(`{}`)),
		build("null", nil),
	)
	return seeds
}

// FuzzRead checks that Read never panics, that sized and unsized readers
// agree, that every error wraps ErrFormat or ErrDType (never the marker of a
// recovered library panic), that every tensor read has as many values as its
// shape says, and that what was read writes and reads back bit for bit.
func FuzzRead(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var files [2]*File
		var errs [2]error
		for i, r := range []io.Reader{bytes.NewReader(data), hideLen{bytes.NewReader(data)}} {
			files[i], errs[i] = Read(r)
			if err := errs[i]; err != nil {
				if errors.Is(err, errLibraryPanic) {
					t.Fatalf("safetensors library panicked: %v", err)
				}
				if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrDType) {
					t.Fatalf("error wraps neither ErrFormat nor ErrDType: %v", err)
				}
				if files[i] != nil {
					t.Fatal("non-nil File with an error")
				}
			}
		}
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("sized and unsized reads disagree: %v vs %v", errs[0], errs[1])
		}
		file := files[0]
		if file == nil {
			return
		}
		var tensors []Tensor
		for _, name := range file.Names() {
			tt, ok := file.Get(name)
			if !ok {
				t.Fatalf("Names lists %q but Get does not find it", name)
			}
			n := numElements(tt.Shape)
			switch {
			case tt.DType.IsFloat():
				if len(tt.F32) != n || tt.F32 == nil || tt.I32 != nil {
					t.Fatalf("tensor %q %s shape %v: %d float32, %d int32 values", name, tt.DType, tt.Shape, len(tt.F32), len(tt.I32))
				}
				tt.DType = F32
			case tt.DType.IsInt():
				if len(tt.I32) != n || tt.I32 == nil || tt.F32 != nil {
					t.Fatalf("tensor %q %s shape %v: %d float32, %d int32 values", name, tt.DType, tt.Shape, len(tt.F32), len(tt.I32))
				}
				tt.DType = I32
			default:
				t.Fatalf("tensor %q read with unsupported dtype %s", name, tt.DType)
			}
			tensors = append(tensors, tt)
		}
		var buf bytes.Buffer
		if err := Write(&buf, tensors, file.Metadata()); err != nil {
			t.Fatalf("writing back: %v", err)
		}
		back, err := Read(&buf)
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		for _, w := range tensors {
			g, ok := back.Get(w.Name)
			if !ok || !slices.Equal(g.Shape, w.Shape) || !equalBits(g.F32, w.F32) || !slices.Equal(g.I32, w.I32) {
				t.Fatalf("tensor %q changed in a write/read round trip", w.Name)
			}
		}
		if !slices.Equal(back.Names(), file.Names()) {
			t.Fatalf("names changed in a round trip: %q vs %q", back.Names(), file.Names())
		}
	})
}
