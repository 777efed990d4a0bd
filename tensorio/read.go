package tensorio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"strings"

	"github.com/nlpodyssey/safetensors"
	"github.com/x448/float16"
)

// maxHeaderLen is the largest JSON header accepted, the same limit as the
// safetensors reference implementations (100 MB).
const maxHeaderLen = 100_000_000

// chunkBytes is how much tensor data is read at a time. It is a multiple of
// every element size, so an element never straddles two chunks.
const chunkBytes = 1 << 20

// errLibraryPanic marks the error made when the safetensors header parser
// panics; the fuzz test checks that it never happens.
var errLibraryPanic = errors.New("safetensors library panicked")

// ReadFile reads the safetensors file at path. See Read; errors are prefixed
// with the path.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	size := int64(-1)
	if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	f, err := read(fh, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Read reads a whole safetensors file from r: an 8-byte little-endian header
// length N, N bytes of JSON header (tensor name -> dtype, shape, data_offsets,
// plus an optional "__metadata__" object of strings), then the tensors' bytes,
// contiguous and in offset order, with nothing after the last one.
//
// Float tensors (F32, F64, F16, BF16) are converted to float32 and integer
// tensors (I32, I64) to int32; any other dtype, or an I64 value outside int32
// range, is an error naming the tensor (ErrDType). A malformed or truncated
// file is an error wrapping ErrFormat. Read never panics.
//
// If r has a Len() int method (bytes.Reader, bytes.Buffer, strings.Reader)
// the header is checked against the input's size before any tensor memory is
// allocated; otherwise tensor slices grow as their data arrives, so a header
// that claims more data than there is cannot make Read allocate it.
func Read(r io.Reader) (*File, error) {
	size := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok {
		size = int64(l.Len())
	}
	return read(r, size)
}

// entry is one tensor of the header, validated.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	elems      int    // product of shape
	elemSize   uint64 // bytes per element
	begin, end uint64 // byte range within the data section
}

// read reads a safetensors stream. size is the number of bytes left in r, or
// -1 if unknown; it is used only to reject truncated files before allocating.
func read(r io.Reader, size int64) (*File, error) {
	var pre [8]byte
	if k, err := io.ReadFull(r, pre[:]); err != nil {
		if isEOF(err) {
			return nil, errorf(ErrFormat, "safetensors: truncated: file has %d bytes, need at least 8 for the header length", k)
		}
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	if size < 8 {
		size = -1 // a Len() that disagrees with what could be read: do not trust it
	}
	n := binary.LittleEndian.Uint64(pre[:])
	if n > maxHeaderLen {
		return nil, errorf(ErrFormat, "safetensors: header length %d exceeds the limit of %d bytes", n, maxHeaderLen)
	}
	if size >= 0 && n > uint64(size-8) {
		return nil, errorf(ErrFormat, "safetensors: truncated: header says the JSON header is %d bytes, file has %d bytes after the 8-byte length", n, size-8)
	}
	var hb bytes.Buffer
	if size >= 0 {
		hb.Grow(int(n))
	} // otherwise let the buffer grow with the data actually there
	if got, err := io.CopyN(&hb, r, int64(n)); err != nil {
		if isEOF(err) {
			return nil, errorf(ErrFormat, "safetensors: truncated: header says the JSON header is %d bytes, file has %d bytes after the 8-byte length", n, got)
		}
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	md, err := parseHeader(hb.Bytes())
	if err != nil {
		return nil, err
	}
	hb = bytes.Buffer{}

	entries, total, err := validate(md)
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		have := uint64(size-8) - n
		if total > have {
			return nil, errorf(ErrFormat, "safetensors: truncated: header says tensor data is %d bytes, file has %d", total, have)
		}
		if total < have {
			return nil, errorf(ErrFormat, "safetensors: %d unexpected bytes after the last tensor's data (header says tensor data is %d bytes, file has %d)", have-total, total, have)
		}
	}
	for _, e := range entries {
		if !e.dtype.IsFloat() && !e.dtype.IsInt() {
			return nil, errorf(ErrDType, "tensor %q has dtype %s, which is not supported (supported: F32, F64, F16, BF16, I32, I64)", e.name, e.dtype)
		}
	}

	f := &File{tensors: make(map[string]*Tensor, len(entries)), metadata: md.Metadata()}
	chunk := make([]byte, min(uint64(chunkBytes), total))
	var consumed uint64
	for _, e := range entries {
		t := &Tensor{Name: e.name, DType: e.dtype, Shape: e.shape}
		capElems := e.elems
		if size < 0 {
			capElems = min(capElems, chunkBytes/int(e.elemSize))
		}
		if e.dtype.IsFloat() {
			t.F32 = make([]float32, 0, capElems)
		} else {
			t.I32 = make([]int32, 0, capElems)
		}
		for left := e.end - e.begin; left > 0; {
			buf := chunk[:min(left, uint64(len(chunk)))]
			k, err := io.ReadFull(r, buf)
			consumed += uint64(k)
			if err != nil {
				if isEOF(err) {
					return nil, errorf(ErrFormat, "safetensors: truncated: header says tensor data is %d bytes, file has %d", total, consumed)
				}
				return nil, fmt.Errorf("safetensors: reading tensor %q: %w", e.name, err)
			}
			if err := t.appendRaw(buf); err != nil {
				return nil, err
			}
			left -= uint64(len(buf))
		}
		f.tensors[e.name] = t
		f.names = append(f.names, e.name)
	}
	if size < 0 {
		var one [1]byte
		k, err := io.ReadFull(r, one[:])
		if k > 0 {
			return nil, errorf(ErrFormat, "safetensors: unexpected bytes after the last tensor's data (header says tensor data is %d bytes)", total)
		}
		if err != nil && !isEOF(err) {
			return nil, fmt.Errorf("safetensors: reading after the last tensor: %w", err)
		}
	}
	slices.Sort(f.names)
	return f, nil
}

func isEOF(err error) bool { return err == io.EOF || err == io.ErrUnexpectedEOF }

// parseHeader decodes the JSON header with the safetensors library.
//
// Last-resort guard: the library's header decoding was reviewed and does not
// panic on any input we know of (it only type-asserts with ok checks and
// parses numbers with strconv), but since it is third-party code run on
// untrusted bytes, a panic inside it is recovered here and turned into an
// ErrFormat error (also wrapping errLibraryPanic, which FuzzRead checks is
// never produced). Nothing else in this package relies on recover.
func parseHeader(hdr []byte) (md safetensors.Metadata, err error) {
	// The format requires a JSON object; the library would accept `null`
	// as an empty header.
	if trimmed := strings.TrimLeft(string(hdr), " \t\r\n"); !strings.HasPrefix(trimmed, "{") {
		return md, errorf(ErrFormat, "safetensors: JSON header does not start with '{'")
	}
	defer func() {
		if p := recover(); p != nil {
			md = safetensors.Metadata{}
			err = errorf(ErrFormat, "safetensors: invalid JSON header: header parser panicked: %v (%w)", p, errLibraryPanic)
		}
	}()
	// json.Unmarshal checks that hdr is one complete JSON value (trailing
	// spaces, as written for alignment, are allowed) before calling the
	// library's Metadata.UnmarshalJSON, which checks names, dtypes and the
	// types of shape and data_offsets.
	if err := json.Unmarshal(hdr, &md); err != nil {
		return safetensors.Metadata{}, errorf(ErrFormat, "safetensors: invalid JSON header: %w", err)
	}
	return md, nil
}

// validate checks the header's tensors for everything the library does not
// check before its accessors would slice the data (its own validation is
// unexported and only runs from ReadMetadata and Deserialize, which need the
// whole file in one buffer): byte ranges must be ordered, contiguous from 0, without overlap or
// gaps; every dimension and the element count must fit in an int; and
// elements times element size must equal the byte range, computed without
// overflow. It returns the tensors in data order and the data section's size.
func validate(md safetensors.Metadata) ([]entry, uint64, error) {
	infos := md.Tensors()
	entries := make([]entry, 0, len(infos))
	for name, info := range infos {
		if info == nil {
			return nil, 0, errorf(ErrFormat, "safetensors: tensor %q has no header entry", name)
		}
		dtype, size := dtypeOf(info.DType)
		e := entry{name: name, dtype: dtype, elemSize: size, begin: info.DataOffsets[0], end: info.DataOffsets[1]}
		if size == 0 {
			return nil, 0, errorf(ErrFormat, "safetensors: tensor %q has invalid dtype %s", name, dtype)
		}
		e.shape = make([]int, len(info.Shape))
		elems := uint64(1)
		for i, d := range info.Shape {
			if d > math.MaxInt {
				return nil, 0, errorf(ErrFormat, "safetensors: tensor %q: dimension %d of shape %v is too large", name, i, info.Shape)
			}
			e.shape[i] = int(d)
			hi, lo := bits.Mul64(elems, d)
			if hi != 0 || lo > math.MaxInt {
				return nil, 0, errorf(ErrFormat, "safetensors: tensor %q: shape %v has too many elements", name, info.Shape)
			}
			elems = lo
		}
		e.elems = int(elems)
		if e.end < e.begin {
			return nil, 0, errorf(ErrFormat, "safetensors: tensor %q: data_offsets [%d, %d] end before they start", name, e.begin, e.end)
		}
		hi, nbytes := bits.Mul64(elems, size)
		if hi != 0 || nbytes != e.end-e.begin {
			return nil, 0, errorf(ErrFormat, "safetensors: tensor %q: shape %s of %s needs %d×%d bytes, but data_offsets [%d, %d] span %d bytes",
				name, formatShape(e.shape), dtype, elems, size, e.begin, e.end, e.end-e.begin)
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b entry) int {
		switch {
		case a.begin != b.begin:
			return cmpU64(a.begin, b.begin)
		case a.end != b.end:
			return cmpU64(a.end, b.end)
		default:
			return strings.Compare(a.name, b.name)
		}
	})
	pos, prev := uint64(0), ""
	for _, e := range entries {
		switch {
		case e.begin < pos:
			return nil, 0, errorf(ErrFormat, "safetensors: tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", e.name, e.begin, e.end, prev, pos)
		case e.begin > pos:
			return nil, 0, errorf(ErrFormat, "safetensors: tensor %q: data_offsets [%d, %d] leave bytes %d to %d unused", e.name, e.begin, e.end, pos, e.begin)
		}
		pos, prev = e.end, e.name
	}
	return entries, pos, nil
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// dtypeOf names a library dtype and gives its element size; size 0 means the
// value is not a dtype the library defines (it never produces one, but its
// String and Size methods would panic on it, so they are not called).
func dtypeOf(d safetensors.DType) (DType, uint64) {
	switch d {
	case safetensors.BOOL:
		return "BOOL", 1
	case safetensors.U8:
		return "U8", 1
	case safetensors.I8:
		return "I8", 1
	case safetensors.I16:
		return "I16", 2
	case safetensors.U16:
		return "U16", 2
	case safetensors.F16:
		return F16, 2
	case safetensors.BF16:
		return BF16, 2
	case safetensors.I32:
		return I32, 4
	case safetensors.U32:
		return "U32", 4
	case safetensors.F32:
		return F32, 4
	case safetensors.F64:
		return F64, 8
	case safetensors.I64:
		return I64, 8
	case safetensors.U64:
		return "U64", 8
	}
	return DType(fmt.Sprintf("dtype(%d)", uint8(d))), 0
}

// appendRaw converts little-endian raw data (a whole number of elements of
// t.DType) and appends it to t.F32 or t.I32.
func (t *Tensor) appendRaw(b []byte) error {
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		for i := 0; i+4 <= len(b); i += 4 {
			t.F32 = append(t.F32, math.Float32frombits(le.Uint32(b[i:])))
		}
	case F64:
		for i := 0; i+8 <= len(b); i += 8 {
			t.F32 = append(t.F32, float32(math.Float64frombits(le.Uint64(b[i:]))))
		}
	case F16:
		for i := 0; i+2 <= len(b); i += 2 {
			t.F32 = append(t.F32, float16.Frombits(le.Uint16(b[i:])).Float32())
		}
	case BF16:
		for i := 0; i+2 <= len(b); i += 2 {
			t.F32 = append(t.F32, math.Float32frombits(uint32(le.Uint16(b[i:]))<<16))
		}
	case I32:
		for i := 0; i+4 <= len(b); i += 4 {
			t.I32 = append(t.I32, int32(le.Uint32(b[i:])))
		}
	case I64:
		for i := 0; i+8 <= len(b); i += 8 {
			v := int64(le.Uint64(b[i:]))
			if v < math.MinInt32 || v > math.MaxInt32 {
				return errorf(ErrDType, "tensor %q: I64 value %d at flat index %d does not fit in int32", t.Name, v, len(t.I32))
			}
			t.I32 = append(t.I32, int32(v))
		}
	default:
		return errorf(ErrDType, "tensor %q has dtype %s, which is not supported", t.Name, t.DType)
	}
	return nil
}
