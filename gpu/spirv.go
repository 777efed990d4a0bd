package gpu

import (
	"encoding/binary"
	"fmt"
)

const spirvMagic = 0x07230203

// ParseSPIRV checks a SPIR-V binary (length a multiple of 4, the magic number, a header) and
// returns its words in host order, copying so that no unaligned memory is reinterpreted.
// A byte-swapped module is swapped back.
func ParseSPIRV(code []byte) ([]uint32, error) {
	if len(code) < 20 || len(code)%4 != 0 {
		return nil, fmt.Errorf("%w: SPIR-V of %d bytes: want a multiple of 4 and at least the 20-byte header", ErrInvalid, len(code))
	}
	order := binary.ByteOrder(binary.LittleEndian)
	switch {
	case binary.LittleEndian.Uint32(code) == spirvMagic:
	case binary.BigEndian.Uint32(code) == spirvMagic:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: not SPIR-V: magic number %#08x, want %#08x", ErrInvalid, binary.LittleEndian.Uint32(code), spirvMagic)
	}
	words := make([]uint32, len(code)/4)
	for i := range words {
		words[i] = order.Uint32(code[4*i:])
	}
	return words, nil
}
