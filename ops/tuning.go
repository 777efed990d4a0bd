package ops

import "github.com/vkseq/vkseq/gpu"

// Tile shapes per kind of device. CPU devices (lavapipe) run each invocation as a SIMD lane and
// emit every buffer access lane by lane, so they want large register tiles, vec4 accesses and no
// shared memory; GPUs want many invocations with modest register tiles.

// gpuTilesOnCPU makes the tile choices below treat a CPU device as a GPU. Tests set it to run the
// GPU shapes (small register tiles, many lanes) on lavapipe, so that those code paths are checked
// for correctness on machines without a GPU; it is never set outside tests.
var gpuTilesOnCPU bool

// cpuTiles reports whether a device gets the CPU (lavapipe) tile shapes.
func cpuTiles(info gpu.DeviceInfo) bool { return info.Type == gpu.CPU && !gpuTilesOnCPU }

// gemmTile is the work of one GEMM invocation and the workgroup shape.
// KB > 0 selects the row-by-row loop of gemm.glsl (ROWWISE) with KB steps of k per block.
type gemmTile struct{ LX, LY, TM, TN, KB int }

// rowwise returns the k block of the row-by-row loop for a problem with inner dimension k, or 0
// where it does not apply (no vec4 path, a transposed A, or k not a multiple of 4).
func (t gemmTile) rowwise(vec bool, k int) int {
	if t.KB <= 0 || !vec || k%4 != 0 {
		return 0
	}
	if k%t.KB != 0 {
		return 4
	}
	return t.KB
}

// On lavapipe every buffer load inside a loop is emitted lane by lane (Mesa 22.3: a loop over the
// 8 lanes merging each lane's value through the stack, uniform addresses included), and those
// loops, not the arithmetic, bound the GEMM: a vec4 load of A or of B costs about the same, so a
// TM×TN tile per lane pays TM+TN lane loops per 4·TM·TN products, and throughput grows with the
// tile (measured at 1024³: 8×16 1.6, 16×16 2.3, 32×16 3.1, 32×32 4.5, 64×32 6.0 GFLOP/s against
// an FMA ceiling of about 8.5). LLVM's compile time grows with it too (64×32: over a minute per
// pipeline on a loaded machine, for about 1.15x), so the vec4 path takes 32×32, with the
// row-by-row loop (KB = 4: each accumulator reloaded once per 4 products, not once per product;
// measured 1.15-1.3x over the product-by-product loop at 1024³ and at Vocos's shapes), and the
// bounds-checked scalar path a small tile.
func gemmTileFor(info gpu.DeviceInfo, vec bool) gemmTile {
	if cpuTiles(info) {
		if vec {
			return gemmTile{LX: 8, LY: 1, TM: 32, TN: 32, KB: 4}
		}
		return gemmTile{LX: 8, LY: 1, TM: 8, TN: 8}
	}
	return gemmTile{LX: 16, LY: 8, TM: 4, TN: 4}
}

// rowsLocal is the number of invocations that reduce one row (a power of two).
func rowsLocal(info gpu.DeviceInfo, c int) int {
	limit := 256
	if cpuTiles(info) {
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
	if cpuTiles(info) {
		return conv1dTile{Local: 64, T: 32}
	}
	return conv1dTile{Local: 64, T: 8}
}

// scanTile is the selective scan's kernel shape: TL lanes cooperate on the time axis of a group
// of DT consecutive channels (a cluster inside one subgroup, TL a power of two), CL channel
// groups per workgroup, K consecutive steps per lane per block, NV state indices per step of the
// state loop (1 or 4).
type scanTile struct {
	TL, CL, K, DT, NV int
	ncap              int // the state size rounded up (shared-memory carry per channel)
}

// scanTileFor picks the selective scan's shape for rows = B·D channels of L steps.
//
// On lavapipe every buffer access is emitted lane by lane and costs far more than arithmetic
// (measured: B and C loads took 80% of the time with one channel per lane), so a lane takes
// DT = 8 channels, which share each B and C value it loads, and four state indices per step
// (vec4 loads of A and of the carry); the channel axis alone fills the device (one lane per
// eight channels), so TL = 1. GPUs take TL lanes of a subgroup over time and one channel each.
func scanTileFor(info gpu.DeviceInfo, rows, l int) scanTile {
	tl := min(scanClusterMax(info), 32)
	if cpuTiles(info) {
		// Enough channel groups for the device's SIMD batches (two cores of 8 lanes here, and
		// some slack), else lanes on the time axis: measured at D=8, L=16384: 8 lanes over time
		// per channel about as fast as 8 channels in one SIMD batch, and both cores busy.
		dt := 8
		for dt > 1 && rows/dt < 16 {
			dt /= 2
		}
		if l <= 16 { // decode: a few tokens, short blocks
			return scanTile{TL: 1, CL: 8, K: 4, DT: dt, NV: 4}
		}
		if rows < 16 && tl >= 8 {
			return scanTile{TL: 8, CL: 1, K: 8, DT: 1, NV: 4}
		}
		return scanTile{TL: 1, CL: 8, K: 8, DT: dt, NV: 4}
	}
	if l <= 16 { // decode: a few tokens, one lane per channel, short blocks
		return scanTile{TL: 1, CL: 64, K: 4, DT: 1, NV: 4}
	}
	return scanTile{TL: tl, CL: max(128/tl, 1), K: 4, DT: 1, NV: 4}
}

// scanClusterMax is the most lanes that may scan time together: the subgroup size where compute
// shaders have subgroup shuffles, else 1.
func scanClusterMax(info gpu.DeviceInfo) int {
	shuffles := 0
	for _, op := range info.SubgroupOps {
		if op == "shuffle" || op == "shuffle_relative" {
			shuffles++
		}
	}
	if shuffles == 2 && info.SubgroupInCompute && info.SubgroupSize > 0 {
		return int(info.SubgroupSize)
	}
	return 1
}

// fitScanTile adapts a tile to the problem: DT must divide the channels per group, NV = 4 needs
// N % 4 == 0, and the carry (CL·DT·ncap floats, ncap ≥ N) must fit in shared memory. ncap is
// the largest power of two (at most 256) that fits, so that it does not multiply the pipeline
// variants by the values of N.
func fitScanTile(info gpu.DeviceInfo, t scanTile, n, perGroup int) scanTile {
	for t.DT > 1 && perGroup%t.DT != 0 {
		t.DT /= 2
	}
	t.DT = max(t.DT, 1)
	t.CL = max(t.CL, 1)
	if n%4 != 0 || t.NV != 4 {
		t.NV = 1
	}
	shared := max(int(info.SharedMemory), 16<<10)
	for {
		t.ncap = 4
		for 2*t.ncap <= maxScanState && 4*t.CL*t.DT*2*t.ncap <= shared {
			t.ncap *= 2
		}
		if t.ncap >= n || (t.DT == 1 && t.CL == 1) {
			return t
		}
		if t.DT > 1 {
			t.DT /= 2
		} else {
			t.CL /= 2
		}
	}
}

// glaTile is the work split of the GLA kernels (ops/gla.go): invocations per workgroup, the
// state tile of the state pass (StateTK rows × StateTV columns), the output tile (OutTM rows: 16
// or 32, one or two sub-chunks, × OutTV columns) and the columns of the recurrent kernel (all K
// rows each).
// Column counts are multiples of 4, and OutTV divides StateTV (the output kernel reads whole
// tiles of the padded states the state pass writes).
type glaTile struct{ LX, StateTK, StateTV, OutTM, OutTV, RecTV int }

// On lavapipe one invocation is one SIMD lane and every buffer access is emitted lane by lane, so
// each invocation owns a large register tile: 16×64 for the state pass, K×(1024/K) columns of the
// recurrent state, and 32×64 for the output (about 25% faster than 16×64 at the peer shape, but
// its pipeline takes LLVM 15-35 s to build the first time; the others take seconds). Widths depend
// on V only through coarse classes (and the recurrent kernel on K, its register array), so few
// pipelines get built. GPUs get smaller tiles and more lanes.
func glaTileFor(info gpu.DeviceInfo, K, V int) glaTile {
	kp, vp := ceilDiv(K, 4)*4, ceilDiv(V, 4)*4
	if cpuTiles(info) {
		t := glaTile{LX: 8, StateTK: 16, StateTV: 64, OutTM: 32, OutTV: 64, RecTV: min(16, max(4, 1024/kp/4*4))}
		if vp <= 32 {
			t.StateTV, t.OutTM, t.OutTV = 32, 16, 32
		}
		return t
	}
	return glaTile{LX: 64, StateTK: 8, StateTV: 16, OutTM: 16, OutTV: 8, RecTV: 4}
}

// fftShape is the launch shape of fft.comp: invocations per workgroup (a multiple of the subgroup
// size), frame units walked by each invocation (its twiddle and window tables are loaded once per
// invocation, so more units amortise them) and the fewest workgroups worth keeping.
type fftShape struct{ Local, K, MinGroups int }

// fftShapeFor: lavapipe loads every table value lane by lane (together about as costly as a few
// frames' samples), so each invocation walks up to 32 units, keeping 8 workgroups for its
// threads; GPUs want few units per invocation and many workgroups.
func fftShapeFor(info gpu.DeviceInfo, pl fftPlan) fftShape {
	if cpuTiles(info) {
		return fftShape{Local: 32, K: 32, MinGroups: 8}
	}
	return fftShape{Local: 64, K: 2, MinGroups: 256}
}

// fftClasses are the private-array sizes (values per lane) fft.comp is built for. LLVM's compile
// time on lavapipe grows with a pipeline's private-array size (about 5 s at 64, 20 s at 512), so
// small transforms take a small class.
func fftClasses(info gpu.DeviceInfo) []int {
	return []int{64, 128, 256, 512}
}

// fftFewLanes: on lavapipe a unit should use as few lanes as its private-array class allows (a
// SIMD batch then carries several units, which amortises the loops' overhead: n_fft 16 ran 5x
// faster on one lane per unit than on eight); GPUs spread a unit over as many lanes as they can.
func fftFewLanes(info gpu.DeviceInfo) bool { return cpuTiles(info) }

// deltaRecTV is the number of state columns each invocation of the recurrent delta-rule kernel
// (ops/delta.go) owns, with all K rows in registers, for rows = sequences × heads. On lavapipe
// every k and q load is paid lane by lane and the delta rule reads k twice per token, so wide
// tiles pay (up to 4096 state values per lane, 2048 for K > 128: compile time), as long as there are enough lanes for the
// device's threads (a workgroup of 8 lanes runs on one thread): measured at H=4 K=V=64, 16
// columns 151 ms against 32 columns (one workgroup, one core) 217 ms; at the peer shape H=32
// K=V=128, 32 columns 220 ms against 16 294 ms. Never wider than V. GPUs keep GLA's tile.
func deltaRecTV(info gpu.DeviceInfo, rows, K, V int) int {
	vp := ceilDiv(V, 4) * 4
	if !cpuTiles(info) {
		return min(glaTileFor(info, K, V).RecTV, vp)
	}
	kp, budget := ceilDiv(K, 4)*4, 4096
	if kp > 128 {
		budget = 2048 // K=256 with 16 columns: 52 s of LLVM for the first build
	}
	tv := min(32, max(4, budget/kp/4*4))
	for tv > 4 && rows*ceilDiv(vp, tv) < 2*glaTileFor(info, K, V).LX {
		tv /= 2
	}
	return min(tv, vp)
}

// stateTileShift reports whether the kernels that hold a K-row state tile in registers (gla_rec,
// delta_rec, delta_state) move it by shifting rows through a few load and store sites (lavapipe:
// LLVM builds them in far less time) rather than with one site per row. GPUs take the plain
// form: NVIDIA's compiler (driver 580, H200) computed wrong states from the shifting one
// (shaders/include/state_tile.glsl).
func stateTileShift(info gpu.DeviceInfo) bool { return cpuTiles(info) }

// fftFixed reports whether a one-lane unit of E values gets a pipeline with its sizes fixed,
// unrolled into registers. On lavapipe that removes loop and private-array overheads: the batched
// n_fft 16 FFT ran about 30% faster; but each such size costs a pipeline (seconds of LLVM), so
// only the small sizes people use take it: n_fft 16 (iSTFTNet) and 20 (StyleTTS2).
func fftFixed(info gpu.DeviceInfo, e int) bool {
	return cpuTiles(info) && (e == 8 || e == 10)
}

// deltaStateTV is the number of state columns each invocation of the chunked delta rule's state
// pass owns: the recurrent kernel's width rounded down to a power of two (so that it divides the
// output tiles), with at most 2048 state values per lane on lavapipe: this kernel holds the tile
// through more code than the recurrent one, and LLVM's build time grows steeply with it. At the
// peer shape H=32 K=V=128, 32 columns (4096 values) ran in 182-205 ms against 272 ms for 16, but
// building the chunked pipelines took 155 s instead of 55 s; K=256 with 16 columns took 138 s.
func deltaStateTV(info gpu.DeviceInfo, rows, K, V int) int {
	rec := deltaRecTV(info, rows, K, V)
	if cpuTiles(info) {
		rec = min(rec, max(4, 2048/(ceilDiv(K, 4)*4)))
	}
	tv := 4
	for 2*tv <= rec {
		tv *= 2
	}
	return tv
}

// deltaKKRows is the rows of a 16×16 block of A and Q·Kᵀ that one invocation of delta_kk computes
// (8 or 16). On lavapipe 16 (measured at T=8192 H=4 K=V=64 on a loaded machine: 221 ms against
// 291 ms for 8; fully unrolled loops without the row rotation were 6-10× slower still: LLVM spills
// them); GPUs take 8 for more lanes and fewer registers.
func deltaKKRows(info gpu.DeviceInfo) int {
	if cpuTiles(info) {
		return 16
	}
	return 8
}
