package ops

import "github.com/vkseq/vkseq/gpu"

// ssdRecurrentMaxL is the longest sequence (tokens per batch row) for which FormAuto takes SSD's
// recurrent form on CPU devices (lavapipe). Measured on lavapipe (2-core Xeon under load, H=48
// P=64 N=128 G=1, both forms interleaved in one process, median GPU time, TestSSDExplore with
// SSD_EXPLORE_L): L=4 recurrent 1.5 ms vs chunked 3.8 ms; L=16 5.2 vs 6.9; L=32 10.2 vs 9.8 (a
// tie; minima 5.2 vs 9.1); L=48 15.9 vs 13.4; L=64 22.0 vs 18.7; L=256 208 vs 137; L=512 110 vs
// 73. The chunked form pads the last chunk to Q = 64 tokens and pays its C·Bᵀ and state passes
// per chunk, so short inputs walk the tokens instead.
const ssdRecurrentMaxL = 32

// ssdForm resolves FormAuto for SSD: GPUs always take the chunked form (GEMM-shaped work per
// chunk, parallel over chunks); CPU devices take the recurrent form up to ssdRecurrentMaxL
// tokens, where the chunked form's fixed work per chunk (states entering it, C·Bᵀ, a padded last
// chunk) costs more than walking the tokens.
func ssdForm(info gpu.DeviceInfo, dm ssdDims, f Form) Form {
	if f != FormAuto {
		return f
	}
	if cpuTiles(info) && dm.l <= ssdRecurrentMaxL {
		return FormRecurrent
	}
	return FormChunked
}

// ssdTile is the work split of the SSD kernels (ops/ssd.go): invocations per workgroup, the chunk
// length Q, the C·Bᵀ tile (CBI × CBJ), the state tile (StP × StN), the output tile
// (OutI rows × OutP columns), and the recurrent kernel's tokens per pass over the state and rows
// of P per lane (a multiple of 4).
//
// Coop (CPU devices whose subgroup is the workgroup of Local = 8 lanes): the output kernel's
// lanes share their rows and form the rows' weights (C·Bᵀ, decays, dtp) once per workgroup,
// and the state kernel's lanes share their P tile and load its weighted x rows once per
// workgroup (subgroupBroadcast), instead of once per lane; OutI and StP are then multiples of 8.
type ssdTile struct {
	Local, Q, CBI, CBJ, StP, StN, OutI, OutP, RecT, RecP int
	Coop                                                 bool
}

// ssdTileFor: lavapipe pays for every buffer access lane by lane, so its lanes take big register
// tiles (16 × 16 products per vec4 pair loaded); GPUs many lanes with small tiles. Without vec4
// accesses (P or N not a multiple of 4) every load is four bounds-checked scalars: small tiles,
// which LLVM compiles in reasonable time.
func ssdTileFor(info gpu.DeviceInfo, vec bool) ssdTile {
	if !vec {
		return ssdTile{Local: 64, Q: 64, CBI: 4, CBJ: 4, StP: 4, StN: 4, OutI: 4, OutP: 4, RecT: 4, RecP: 4}
	}
	if cpuTiles(info) {
		t := ssdTile{Local: 8, Q: 64, CBI: 16, CBJ: 16, StP: 16, StN: 16, OutI: 16, OutP: 16, RecT: 4, RecP: 8}
		if info.SubgroupSize == 8 && hasSubgroupOp(info, "ballot") {
			t.OutI, t.OutP, t.Coop = 16, 8, true
		}
		return t
	}
	return ssdTile{Local: 64, Q: 64, CBI: 4, CBJ: 8, StP: 4, StN: 8, OutI: 4, OutP: 8, RecT: 4, RecP: 4}
}

// hasSubgroupOp reports whether compute shaders have the subgroup operations named op ("ballot",
// "shuffle", ...).
func hasSubgroupOp(info gpu.DeviceInfo, op string) bool {
	if !info.SubgroupInCompute {
		return false
	}
	for _, o := range info.SubgroupOps {
		if o == op {
			return true
		}
	}
	return false
}
