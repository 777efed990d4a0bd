package ops

import "github.com/vkseq/vkseq/gpu"

// fftRegLog returns log2 N when the real FFT of length nfft = 2N takes fft_reg.comp (one frame
// per invocation, the whole transform unrolled into registers), else 0. Only lavapipe takes it:
// there an invocation is one lane of a CPU thread's SIMD registers, so 8 frames run side by side
// with every array index constant, where fft.comp's private arrays are accessed lane by lane. A
// GPU would spill such a register tile. Each size costs a pipeline of its own (LLVM's build time
// grows with n), so the range is bounded.
func fftRegLog(info gpu.DeviceInfo, nfft int) int {
	if !cpuTiles(info) || nfft < fftRegMin || nfft > fftRegMax || nfft&(nfft-1) != 0 {
		return 0
	}
	l := 0
	for 2<<l < nfft {
		l++
	}
	return l
}

// The range of n_fft fft_reg.comp takes on lavapipe.
const (
	fftRegMin = 64
	fftRegMax = 2048
)

// fftRegLocal is fft_reg.comp's workgroup size: one SIMD batch of lavapipe.
const fftRegLocal = 8

// fftRegTabTexel reports whether fft_reg.comp reads its table (twiddles and window, at
// lane-uniform addresses) through a uniform texel buffer (fft_reg_t.comp) where the table can be
// bound so. On lavapipe a lane-uniform storage-buffer load pays a bounds check per component;
// measured at n_fft 1024 × 2048 and 2048 × 1024 (ops TestRFFTExploreTab): 28.0 -> 18.3 ms and
// 30.1 -> 19.5 ms (1.5x, loadavg 2).
func fftRegTabTexel() bool { return !testFFTRegTabOff }

// fftRegInTexel reports whether fft_reg_t.comp also reads its input (the framed signal, or the
// spectrum of the inverse) through a uniform texel buffer (fft_reg_tt.comp) where it can be bound
// so.
func fftRegInTexel() bool { return !testFFTRegInOff }
