package ops

import (
	"testing"
	"time"
)

func TestGEMMCompileTime(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	for _, vec := range []bool{true, false} {
		for _, ta := range []bool{false, true} {
			tile := gemmTileFor(d.Info(), vec)
			t0 := time.Now()
			_, err := kernel(d, "gemm", nil, 24, uint32(tile.LX), uint32(tile.LY), uint32(tile.TM), uint32(tile.TN), b2u(ta), 0, b2u(vec))
			t.Logf("vec %v ta %v tile %+v: %v (%v)", vec, ta, tile, time.Since(t0), err)
		}
	}
}
