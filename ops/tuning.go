package ops

import "github.com/vkseq/vkseq/gpu"

// Tile shapes per kind of device. CPU devices (lavapipe) run each invocation as a SIMD lane and
// emit every buffer access lane by lane, so they want large register tiles, vec4 accesses and no
// shared memory; GPUs want many invocations with modest register tiles.

// gemmTile is the work of one GEMM invocation and the workgroup shape.
type gemmTile struct{ LX, LY, TM, TN int }

// On lavapipe, throughput grows with the tile (measured at 1024³: 8×16 1.6, 32×32 4.5, 64×32 6.0
// GFLOP/s against an FMA ceiling of about 8.5), but so does LLVM's compile time (64×32: minutes
// per pipeline), so the vec4 path takes 32×32 and the bounds-checked scalar path a small tile.
func gemmTileFor(info gpu.DeviceInfo, vec bool) gemmTile {
	if info.Type == gpu.CPU {
		if vec {
			return gemmTile{LX: 8, LY: 1, TM: 32, TN: 32}
		}
		return gemmTile{LX: 8, LY: 1, TM: 8, TN: 8}
	}
	return gemmTile{LX: 16, LY: 8, TM: 4, TN: 4}
}

// rowsLocal is the number of invocations that reduce one row (a power of two).
func rowsLocal(info gpu.DeviceInfo, c int) int {
	limit := 256
	if info.Type == gpu.CPU {
		limit = 8 // one SIMD batch of lavapipe: the tree costs little
	}
	l := 1
	for l < limit && l < c {
		l *= 2
	}
	return max(l, 1)
}

// conv1dTile is the causal conv1d's workgroup size and outputs per invocation (a multiple of 4).
type conv1dTile struct{ Local, T int }

// conv1dTileFor: lavapipe wants long runs per invocation (vec4 loads, the W-1 carried inputs
// amortised); GPUs many invocations. The decode update walks few tokens: a short tile.
func conv1dTileFor(info gpu.DeviceInfo, update bool) conv1dTile {
	if update {
		return conv1dTile{Local: 64, T: 4}
	}
	if info.Type == gpu.CPU {
		return conv1dTile{Local: 64, T: 32}
	}
	return conv1dTile{Local: 64, T: 8}
}
