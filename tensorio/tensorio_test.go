package tensorio

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

func sampleTensors() []Tensor {
	return []Tensor{
		{Name: "b", DType: F32, Shape: []int{2, 3}, F32: []float32{1, 2, 3, 4, 5, -6.5}},
		{Name: "a", Shape: []int{4}, F32: []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Copysign(0, -1)), 1e-45}},
		{Name: "cu_seqlens", DType: I32, Shape: []int{3}, I32: []int32{0, 5, math.MaxInt32}},
		{Name: "scalar", DType: F32, F32: []float32{42}},
		{Name: "empty", DType: F32, Shape: []int{0, 4}},
		{Name: "iempty", DType: I32, Shape: []int{0}},
		{Name: "", DType: I32, Shape: []int{1, 1}, I32: []int32{math.MinInt32}},
	}
}

func TestRoundTrip(t *testing.T) {
	in := sampleTensors()
	meta := map[string]string{"format": "pt", "note": "ünïcode"}
	var buf bytes.Buffer
	if err := Write(&buf, in, meta); err != nil {
		t.Fatal(err)
	}
	// Stable output: the order of the input slice does not matter.
	rev := slices.Clone(in)
	slices.Reverse(rev)
	var buf2 bytes.Buffer
	if err := Write(&buf2, rev, meta); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatal("Write output depends on the order of the tensors")
	}

	path := filepath.Join(t.TempDir(), "x.safetensors")
	if err := WriteFile(path, in, meta); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, buf.Bytes()) {
		t.Fatal("WriteFile and Write differ")
	}
	fromFile, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromReader, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}

	for _, f := range []*File{fromFile, fromReader} {
		wantNames := []string{"", "a", "b", "cu_seqlens", "empty", "iempty", "scalar"}
		if got := f.Names(); !slices.Equal(got, wantNames) {
			t.Fatalf("Names() = %q, want %q", got, wantNames)
		}
		if got := f.Metadata(); len(got) != 2 || got["format"] != "pt" || got["note"] != meta["note"] {
			t.Fatalf("Metadata() = %v", got)
		}
		for _, w := range in {
			g, ok := f.Get(w.Name)
			if !ok {
				t.Fatalf("tensor %q missing", w.Name)
			}
			wantDT := w.DType
			if wantDT == "" {
				wantDT = F32
			}
			if g.Name != w.Name || g.DType != wantDT || len(g.Shape) != len(w.Shape) || !slices.Equal(g.Shape, w.Shape) {
				t.Fatalf("tensor %q: got %+v, want %+v", w.Name, g, w)
			}
			if !equalBits(g.F32, w.F32) || !slices.Equal(g.I32, w.I32) {
				t.Fatalf("tensor %q values: got %v %v, want %v %v", w.Name, g.F32, g.I32, w.F32, w.I32)
			}
			if wantDT == F32 && (g.F32 == nil || g.I32 != nil) || wantDT == I32 && (g.I32 == nil || g.F32 != nil) {
				t.Fatalf("tensor %q: wrong host slice set: %+v", w.Name, g)
			}
		}
	}
}

func TestReadConvertedDTypes(t *testing.T) {
	view := func(dt safetensors.DType, shape []uint64, data []byte) safetensors.TensorView {
		v, err := safetensors.NewTensorView(dt, shape, data)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	data, err := safetensors.Serialize(map[string]safetensors.TensorView{
		"f64":  view(safetensors.F64, []uint64{2, 2}, f64bytes(1.0/3, 1e300, -2.5, math.SmallestNonzeroFloat64)),
		"f16":  view(safetensors.F16, []uint64{5}, u16bytes(0x3C00, 0xC000, 0x3555, 0x7C00, 0x0001)),
		"bf16": view(safetensors.BF16, []uint64{3}, u16bytes(0x3F80, 0xC040, 0x3EAB)),
		"i64":  view(safetensors.I64, []uint64{4}, i64bytes(0, -7, math.MaxInt32, math.MinInt32)),
		"i32":  view(safetensors.I32, []uint64{2}, []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}),
		"f32":  view(safetensors.F32, []uint64{1}, f32bytes(0.1)),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := readAll(t, data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		dtype DType
		shape []int
		f32   []float32
		i32   []int32
	}{
		{"f64", F64, []int{2, 2}, []float32{float32(1.0 / 3), float32(math.Inf(1)), -2.5, 0}, nil},
		{"f16", F16, []int{5}, []float32{1, -2, 0.333251953125, float32(math.Inf(1)), 5.9604645e-08}, nil},
		{"bf16", BF16, []int{3}, []float32{1, -3, math.Float32frombits(0x3EAB0000)}, nil},
		{"i64", I64, []int{4}, nil, []int32{0, -7, math.MaxInt32, math.MinInt32}},
		{"i32", I32, []int{2}, nil, []int32{1, -1}},
		{"f32", F32, []int{1}, []float32{0.1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, ok := f.Get(tc.name)
			if !ok {
				t.Fatal("missing")
			}
			if g.DType != tc.dtype || !slices.Equal(g.Shape, tc.shape) || !equalBits(g.F32, tc.f32) || !slices.Equal(g.I32, tc.i32) {
				t.Fatalf("got %+v, want %+v", g, tc)
			}
		})
	}
}

// TestReadPyTorchStyle reads a file laid out byte by byte as the Rust/Python
// safetensors library writes torch tensors: "__metadata__" first, tensors in
// order of decreasing alignment then name, header padded with spaces to a
// multiple of 8 bytes.
func TestReadPyTorchStyle(t *testing.T) {
	header := `{"__metadata__":{"format":"pt"},` +
		`"cu_seqlens":{"dtype":"I64","shape":[3],"data_offsets":[0,24]},` +
		`"x":{"dtype":"F32","shape":[2,2],"data_offsets":[24,40]},` +
		`"w":{"dtype":"F16","shape":[2],"data_offsets":[40,44]}}`
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	if len(header)%8 != 0 {
		t.Fatal("bad padding")
	}
	var data []byte
	data = append(data, i64bytes(0, 3, 7)...)
	data = append(data, f32bytes(1, 2, 3, 4)...)
	data = append(data, 0x00, 0x3C, 0x00, 0xBC) // F16 1, -1
	f, err := readAll(t, build(header, data))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckKnown("x", "w", "cu_seqlens"); err != nil {
		t.Fatal(err)
	}
	cu, err := f.Int32("cu_seqlens", Any)
	if err != nil || !slices.Equal(cu, []int32{0, 3, 7}) {
		t.Fatalf("cu_seqlens = %v, %v", cu, err)
	}
	x, err := f.Float32("x", 2, 2)
	if err != nil || !slices.Equal(x, []float32{1, 2, 3, 4}) {
		t.Fatalf("x = %v, %v", x, err)
	}
	w, err := f.Float32("w", 2)
	if err != nil || !slices.Equal(w, []float32{1, -1}) {
		t.Fatalf("w = %v, %v", w, err)
	}
	if m := f.Metadata(); m["format"] != "pt" || len(m) != 1 {
		t.Fatalf("metadata = %v", m)
	}
}

func TestTruncated(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, []Tensor{
		{Name: "x", Shape: []int{3}, F32: []float32{1, 2, 3}},
		{Name: "n", DType: I32, Shape: []int{2}, I32: []int32{4, 5}},
	}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	dir := t.TempDir()
	for cut := range len(full) {
		data := full[:cut]
		path := filepath.Join(dir, "cut.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, errFile := ReadFile(path)
		_, errSized := Read(bytes.NewReader(data))
		_, errUnsized := Read(hideLen{bytes.NewReader(data)})
		for _, err := range []error{errFile, errSized, errUnsized} {
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated") {
				t.Fatalf("cut at %d of %d: got %v, want a truncation error wrapping ErrFormat", cut, len(full), err)
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	valid := build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32bytes(1))
	tests := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"empty", nil, "truncated: file has 0 bytes"},
		{"garbage header", build("hello world", nil), "does not start with '{'"},
		{"not JSON", build("{not json}", nil), "invalid JSON header"},
		{"null header", build("null", nil), "does not start with '{'"},
		{"array header", build("[]", nil), "does not start with '{'"},
		{"empty header", build("", nil), "does not start with '{'"},
		{"trailing JSON garbage", build(`{} x`, nil), "invalid JSON header"},
		{"header length beyond file", withLen(1000, []byte(`{}`)), "truncated: header says the JSON header is 1000 bytes, file has 2"},
		{"header length over limit", withLen(1<<40, []byte(`{}`)), "exceeds the limit"},
		{"header length max uint64", withLen(math.MaxUint64, []byte(`{}`)), "exceeds the limit"},
		{"offsets past the end", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32bytes(1)), "truncated: header says tensor data is 8 bytes, file has 4"},
		{"huge offsets", build(`{"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,18446744073709551615]}}`, nil), "too large"},
		{"overlapping offsets", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)), "overlap"},
		{"same offsets twice", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "overlap"},
		{"gap between tensors", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), "unused"},
		{"not starting at 0", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "unused"},
		{"end before start", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}`, make([]byte, 8)), "end before"},
		{"shape/offset mismatch", build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "span 8 bytes"},
		{"dtype size mismatch", build(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), "needs 2×8 bytes"},
		{"shape product overflow", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "too many elements"},
		{"shape product above MaxInt", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967295],"data_offsets":[0,0]}}`, nil), "too many elements"},
		{"byte count overflow", build(`{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}`, nil), "needs"},
		{"huge dim times zero", build(`{"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, nil), "too large"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, nil), "invalid JSON header"},
		{"fractional dim", build(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}`, nil), "invalid JSON header"},
		{"unknown dtype string", build(`{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), "invalid JSON header"},
		{"missing data_offsets", build(`{"a":{"dtype":"F32","shape":[1],"x":[0,4]}}`, make([]byte, 4)), "invalid JSON header"},
		{"extra key", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, make([]byte, 4)), "invalid JSON header"},
		{"three offsets", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}`, make([]byte, 4)), "invalid JSON header"},
		{"tensor entry not an object", build(`{"a":5}`, nil), "invalid JSON header"},
		{"tensor entry null", build(`{"a":null}`, nil), "invalid JSON header"},
		{"metadata value not a string", build(`{"__metadata__":{"k":1}}`, nil), "invalid JSON header"},
		{"duplicate name", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "unused"},
		{"trailing bytes", append(slices.Clone(valid), 0), "unexpected bytes after"},
		{"deeply nested header", build(`{"a":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`, nil), "invalid JSON header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []struct {
				kind string
				read func() (*File, error)
			}{
				{"sized", func() (*File, error) { return Read(bytes.NewReader(tc.data)) }},
				{"unsized", func() (*File, error) { return Read(hideLen{bytes.NewReader(tc.data)}) }},
			} {
				f, err := r.read()
				if f != nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: got %v, want an ErrFormat error containing %q", r.kind, err, tc.want)
				}
			}
		})
	}
	if _, err := readAll(t, valid); err != nil {
		t.Fatalf("valid file: %v", err)
	}
}

func TestDTypeErrors(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		substr []string
	}{
		{"U8", build(`{"mask":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 0}), []string{`"mask"`, "U8"}},
		{"BOOL", build(`{"m":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}`, []byte{1}), []string{`"m"`, "BOOL"}},
		{"U64", build(`{"ok":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"u":{"dtype":"U64","shape":[1],"data_offsets":[4,12]}}`, make([]byte, 12)), []string{`"u"`, "U64"}},
		{"I64 too large", build(`{"cu_seqlens":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}`, i64bytes(0, 1<<31)), []string{`"cu_seqlens"`, "2147483648", "int32"}},
		{"I64 too small", build(`{"cu_seqlens":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}`, i64bytes(math.MinInt32-1, 0)), []string{`"cu_seqlens"`, "-2147483649", "int32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := readAll(t, tc.data)
			if f != nil || !errors.Is(err, ErrDType) {
				t.Fatalf("got %v, want ErrDType", err)
			}
			for _, s := range tc.substr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{
		{Name: "a", Shape: []int{2, 3}, F32: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "cu", DType: I32, Shape: []int{3}, I32: []int32{0, 2, 5}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata() != nil {
		t.Errorf("Metadata() = %v, want nil", f.Metadata())
	}
	s, ok := f.Shape("a")
	if !ok || !slices.Equal(s, []int{2, 3}) {
		t.Fatalf("Shape(a) = %v, %v", s, ok)
	}
	s[0] = 99
	if s2, _ := f.Shape("a"); s2[0] != 2 {
		t.Fatal("Shape returned the File's own slice")
	}
	if _, ok := f.Shape("nope"); ok {
		t.Fatal("Shape(nope) found")
	}

	type result struct {
		n       int // number of values returned
		present bool
		err     error
	}
	f32 := func(v []float32, err error) result { return result{len(v), v != nil, err} }
	i32 := func(v []int32, err error) result { return result{len(v), v != nil, err} }
	of32 := func(v []float32, ok bool, err error) result { return result{len(v), ok, err} }
	oi32 := func(v []int32, ok bool, err error) result { return result{len(v), ok, err} }
	tests := []struct {
		name    string
		got     result
		n       int
		present bool
		kind    error // nil: success
		substr  []string
	}{
		{"exact shape", f32(f.Float32("a", 2, 3)), 6, true, nil, nil},
		{"wildcard", f32(f.Float32("a", 2, Any)), 6, true, nil, nil},
		{"all wildcards", f32(f.Float32("a", Any, Any)), 6, true, nil, nil},
		{"any shape", f32(f.Float32("a")), 6, true, nil, nil},
		{"wrong rank", f32(f.Float32("a", Any, Any, Any)), 0, false, ErrShape, []string{`"a"`, "[2, 3]", "[*, *, *]"}},
		{"wrong dims", f32(f.Float32("a", 3, 2)), 0, false, ErrShape, []string{`"a"`, "has shape [2, 3], expected [3, 2]"}},
		{"missing", f32(f.Float32("q", 4, Any)), 0, false, ErrMissing, []string{`missing required input tensor "q", expected shape [4, *]`}},
		{"missing any shape", f32(f.Float32("q")), 0, false, ErrMissing, []string{`"q"`, "expected shape any"}},
		{"float from int", f32(f.Float32("cu", 3)), 0, false, ErrDType, []string{`"cu"`, "I32", "float"}},
		{"int from float", i32(f.Int32("a", 2, 3)), 0, false, ErrDType, []string{`"a"`, "F32", "integer"}},
		{"int", i32(f.Int32("cu", 3)), 3, true, nil, nil},
		{"int wrong shape", i32(f.Int32("cu", 4)), 0, false, ErrShape, []string{`"cu"`, "[3]", "[4]"}},
		{"int missing", i32(f.Int32("cu_seqlens", Any)), 0, false, ErrMissing, []string{`"cu_seqlens"`, "[*]"}},
		{"optional absent", of32(f.OptionalFloat32("initial_state", 1, 2)), 0, false, nil, nil},
		{"optional present", of32(f.OptionalFloat32("a", 2, 3)), 6, true, nil, nil},
		{"optional wrong shape", of32(f.OptionalFloat32("a", 5)), 0, true, ErrShape, []string{`"a"`}},
		{"optional int absent", oi32(f.OptionalInt32("cu_seqlens")), 0, false, nil, nil},
		{"optional int present", oi32(f.OptionalInt32("cu", Any)), 3, true, nil, nil},
		{"optional int wrong dtype", oi32(f.OptionalInt32("a")), 0, true, ErrDType, []string{`"a"`}},
		{"bad expected shape", f32(f.Float32("a", -2, 3)), 0, false, nil, []string{"invalid expected shape"}},
		{"bad expected shape, absent optional", of32(f.OptionalFloat32("zz", -5)), 0, false, nil, []string{"invalid expected shape"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.got
			if tc.substr == nil {
				if g.err != nil || g.n != tc.n || g.present != tc.present {
					t.Fatalf("got %+v, want %d values, present %v", g, tc.n, tc.present)
				}
				return
			}
			if g.err == nil || g.n != 0 || g.present != tc.present {
				t.Fatalf("got %+v, want an error", g)
			}
			if tc.kind != nil && !errors.Is(g.err, tc.kind) {
				t.Errorf("error %v does not wrap %v", g.err, tc.kind)
			}
			for _, s := range tc.substr {
				if !strings.Contains(g.err.Error(), s) {
					t.Errorf("error %q does not contain %q", g.err, s)
				}
			}
		})
	}

	if err := f.CheckKnown("a", "cu", "b"); err != nil {
		t.Errorf("CheckKnown: %v", err)
	}
	err = f.CheckKnown("a")
	if !errors.Is(err, ErrUnknown) || err.Error() != `unknown input tensor "cu"; op takes: a` {
		t.Errorf("CheckKnown(a) = %v", err)
	}
	err = f.CheckKnown("x", "y")
	if !errors.Is(err, ErrUnknown) || err.Error() != `unknown input tensors "a", "cu"; op takes: x, y` {
		t.Errorf("CheckKnown(x, y) = %v", err)
	}
	err = f.CheckKnown()
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "op takes no input tensors") {
		t.Errorf("CheckKnown() = %v", err)
	}

	var nilFile *File
	if nilFile.Names() != nil || nilFile.Metadata() != nil || nilFile.CheckKnown() != nil {
		t.Error("nil File is not empty")
	}
	if _, err := nilFile.Float32("a"); !errors.Is(err, ErrMissing) {
		t.Errorf("nil File Float32: %v", err)
	}
}

type failWriter struct{ left int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errDiskFull
	}
	w.left -= len(p)
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		kind    error
		substr  string
	}{
		{"duplicate", []Tensor{{Name: "a", F32: []float32{1}}, {Name: "a", F32: []float32{2}}}, nil, `"a" appears twice`},
		{"reserved", []Tensor{{Name: "__metadata__", F32: []float32{1}}}, nil, "reserved"},
		{"too few values", []Tensor{{Name: "a", Shape: []int{2, 2}, F32: []float32{1, 2, 3}}}, ErrShape, `"a" has shape [2, 2] (4 elements) but 3 values`},
		{"scalar without value", []Tensor{{Name: "s", DType: F32}}, ErrShape, `"s"`},
		{"negative dim", []Tensor{{Name: "a", Shape: []int{-1}}}, ErrShape, "negative"},
		{"overflowing shape", []Tensor{{Name: "a", Shape: []int{math.MaxInt, 2}}}, ErrShape, "too many"},
		{"F16 not writable", []Tensor{{Name: "h", DType: F16, F32: []float32{1}}}, ErrDType, "only F32 and I32"},
		{"F32 with ints", []Tensor{{Name: "a", DType: F32, I32: []int32{1}}}, ErrDType, "int32 values"},
		{"I32 with floats", []Tensor{{Name: "a", DType: I32, F32: []float32{1}}}, ErrDType, "float32 values"},
	}
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.safetensors")
	if err := os.WriteFile(existing, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tc.substr) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
				t.Fatalf("got %v, want an error containing %q", err, tc.substr)
			}
			if buf.Len() != 0 {
				t.Fatal("Write wrote bytes despite the error")
			}
			if err := WriteFile(filepath.Join(dir, "new.safetensors"), tc.tensors, nil); err == nil {
				t.Fatal("WriteFile succeeded")
			}
			if err := WriteFile(existing, tc.tensors, nil); err == nil {
				t.Fatal("WriteFile succeeded")
			}
		})
	}
	// A writer that fails part way reports its error.
	big := []Tensor{{Name: "x", Shape: []int{1 << 16}, F32: make([]float32, 1<<16)}}
	if err := Write(&failWriter{left: 1000}, big, nil); !errors.Is(err, errDiskFull) {
		t.Errorf("failing writer: got %v", err)
	}
	// WriteFile into a missing directory fails and creates nothing.
	if err := WriteFile(filepath.Join(dir, "no/such/dir/x.safetensors"), big, nil); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "existing.safetensors" {
		t.Errorf("directory holds %v, want only existing.safetensors", entries)
	}
	if b, _ := os.ReadFile(existing); string(b) != "old" {
		t.Errorf("existing file changed to %q", b)
	}
}

func TestReadFileErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if _, err := ReadFile(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.WriteFile(path, build("{", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("bad file: %v", err)
	}
}

// TestReadMemory checks that reading allocates about what the converted
// tensors need: once the file size for F32, twice for F16 (widened to
// float32), plus the 1 MiB read chunk and small change.
func TestReadMemory(t *testing.T) {
	const n = 4 << 20
	dir := t.TempDir()
	tests := []struct {
		name   string
		header string
		elem   int
		factor float64
	}{
		{"F32", `{"x":{"dtype":"F32","shape":[4194304],"data_offsets":[0,16777216]}}`, 4, 1},
		{"F16", `{"x":{"dtype":"F16","shape":[4194304],"data_offsets":[0,8388608]}}`, 2, 2},
		{"F64", `{"x":{"dtype":"F64","shape":[4194304],"data_offsets":[0,33554432]}}`, 8, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := build(tc.header, make([]byte, n*tc.elem))
			path := filepath.Join(dir, tc.name+".safetensors")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f, err := ReadFile(path)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if x, _ := f.Float32("x", n); len(x) != n {
				t.Fatal("wrong length")
			}
			alloc := float64(after.TotalAlloc - before.TotalAlloc)
			limit := tc.factor*float64(len(data)) + 2<<20
			if alloc > limit {
				t.Errorf("reading a %d-byte file allocated %.0f bytes, want at most %.0f", len(data), alloc, limit)
			}
		})
	}
}
