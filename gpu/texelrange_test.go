package gpu

import "testing"

// TestTexelViewRange: block buffers are never a power of two and hold texelTail bytes past the
// block; texel views never have bits 8-15 of their range all zero when the device allows the
// tail, and always cover the tensor (see blockBufferSize for why).
func TestTexelViewRange(t *testing.T) {
	for _, size := range []uint64{256, 1 << 20, 64 << 20, 64<<20 - texelTail, 12345 * 16, 3 << 30} {
		n := blockBufferSize(size)
		if n&(n-1) == 0 || n < size+texelTail {
			t.Errorf("blockBufferSize(%d) = %d: want ≥ %d and not a power of two", size, n, size+texelTail)
		}
	}
	const max = 1 << 27
	for _, size := range []uint64{16, 240, 256, 4096, 65536, 98304, 131072, 16 << 20, 27200} {
		r := texelViewRange(size, max)
		if r < size || r > size+texelTail || (r>>8)&0xff == 0 {
			t.Errorf("texelViewRange(%d) = %d: want size or size+%d with bits 8-15 not all zero", size, r, texelTail)
		}
	}
	if r := texelViewRange(max*16, max); r != max*16 {
		t.Errorf("texelViewRange at the device's limit = %d, want %d (no tail past the limit)", r, max*16)
	}
}
