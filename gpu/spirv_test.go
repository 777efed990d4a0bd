package gpu

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSPIRV(t *testing.T) {
	words := []uint32{spirvMagic, 0x00010500, 0, 8, 0, 0x00020011}
	le := make([]byte, 4*len(words))
	be := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(le[4*i:], w)
		binary.BigEndian.PutUint32(be[4*i:], w)
	}
	got, err := ParseSPIRV(le)
	require.NoError(t, err)
	require.Equal(t, words, got)
	got, err = ParseSPIRV(be)
	require.NoError(t, err, "a byte-swapped module is accepted")
	require.Equal(t, words, got)

	// Unaligned input: the words are copied, never reinterpreted in place.
	shifted := append([]byte{0}, le...)
	got, err = ParseSPIRV(shifted[1:])
	require.NoError(t, err)
	require.Equal(t, words, got)

	for name, bad := range map[string][]byte{
		"empty":     nil,
		"short":     le[:16],
		"odd":       le[:len(le)-1],
		"not spirv": append([]byte("#version 450\n// not a binary"), 0, 0, 0),
	} {
		_, err := ParseSPIRV(bad)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
}

func TestPush(t *testing.T) {
	b := Push(uint32(1), int32(-1), 2, float32(1.5), 0.25)
	require.Len(t, b, 20)
	require.Equal(t, uint32(0xffffffff), binary.LittleEndian.Uint32(b[4:]))
	require.Nil(t, Push(uint32(1), "not a number"))
}
