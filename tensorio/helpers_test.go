package tensorio

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"testing"
)

// hideLen hides a reader's Len method, so Read takes the unknown-size path.
type hideLen struct{ io.Reader }

// build assembles a safetensors file by hand: 8-byte little-endian header
// length, the header, then data.
func build(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

// withLen is build with an explicit (possibly lying) header length.
func withLen(n uint64, rest []byte) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64bytes(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func i64bytes(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func u16bytes(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

// readAll reads data through every entry point (sized reader, unsized reader,
// file) and checks that they agree on success or failure.
func readAll(t *testing.T, data []byte) (*File, error) {
	t.Helper()
	f1, err1 := Read(bytes.NewReader(data))
	_, err2 := Read(hideLen{bytes.NewReader(data)})
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("sized and unsized reads disagree: %v vs %v", err1, err2)
	}
	return f1, err1
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
