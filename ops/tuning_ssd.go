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
