package ops

import (
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestGEMMFirstUse measures the first dispatch of each GEMM variant (pipeline compilation included).
func TestGEMMFirstUse(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	r := newRand(t)
	const n = 64
	a := upload(t, d, gpu.F32, randn(r, n*n, 1), n, n)
	b := upload(t, d, gpu.F32, randn(r, n*n, 1), n, n)
	c := poisoned(t, d, gpu.F32, n, n)
	// Measured here with MESA_SHADER_CACHE_DISABLE=true: a 64×32 tile costs ~30 s of LLVM per
	// variant on lavapipe (for ~6.0 against 4.5 GFLOP/s at 1024³), 32×32 about 9 s.
	for _, tile := range []gemmTile{gemmTileFor(d.Info(), true)} {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			tile := tile
			s := stream(t, d)
			t0 := time.Now()
			if err := GEMM(s, c, a, b, GEMMOptions{TransA: tr[0], TransB: tr[1], tile: &tile}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			t.Logf("tile %+v trans %v: first use %v", tile, tr, time.Since(t0))
		}
	}
}
