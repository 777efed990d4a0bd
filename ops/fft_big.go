package ops

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/vkseq/vkseq/gpu"
)

// The large-size path. When a frame unit's complex FFT is beyond what one group of lanes holds in
// private arrays (planFFT fails: odd n_fft above about 2048, other sizes above 4096 or 8192), the
// unit's transform of size M = M1·M2 runs as the four-step algorithm over two scratch tensors:
//
//	frame    (fft_edge.comp)  scratch A[u][j]             packed, windowed samples (× chirp)
//	columns  (fft.comp)       B[u][k1][n2] = w_M^{n2 k1} · DFT_M1 over n1 of A[u][n2 + M2 n1]
//	rows     (fft.comp)       A[u][k1 + M1 k2] = DFT_M2 over n2 of B[u][k1][n2]
//	split    (fft_edge.comp)  the spectrum bins from A[u][k] and A[u][N−k]
//
// M = N when N splits into two sizes fft.comp takes; otherwise M is the smallest smooth size >= 2N−1
// and the transform is Bluestein's (chirp, four-step FFT, × B̂/M, conjugate, four-step FFT,
// conjugate, × chirp), the chirp e^{−iπ j²/N} with j² mod 2N in integers. The inverse packs the
// spectrum, runs the same FFT on its conjugate and unframes the conjugate of the result. Every
// table is computed in float64 on the host.
type bigPlan struct {
	N, M                     int
	blue                     bool
	p1, p2                   fftPlan     // columns of size M1, rows of size M2
	tab1                     *gpu.Tensor // p1's tables, then w_M^j (j < M) at complex offset tw1
	tw1                      int
	tab2                     *gpu.Tensor // p2's tables
	edgeT                    *gpu.Tensor // window (floats), w_2N^k, chirp, B̂/M (complex)
	tWin, tPost, tChirp, tBh int
}

func (b *bigPlan) close() {
	for _, t := range []*gpu.Tensor{b.tab1, b.tab2, b.edgeT} {
		if t != nil {
			t.Close()
		}
	}
}

// splitSize returns M1·M2 = m with both sizes plannable on the device (direct when direct, else
// Bluestein allowed), balanced; ok false when none is.
func splitSize(m, pmax int, classes []int, few, direct bool) (p1, p2 fftPlan, ok bool) {
	best := -1
	for d := 2; d*d <= m; d++ {
		if m%d != 0 {
			continue
		}
		a, err1 := planFFT(d, pmax, classes, few)
		b, err2 := planFFT(m/d, pmax, classes, few)
		if err1 != nil || err2 != nil || (direct && (a.blue || b.blue)) {
			continue
		}
		if d > best { // the most balanced: the largest d <= sqrt(m)
			best, p1, p2, ok = d, b, a, true
		}
	}
	return p1, p2, ok
}

// planBig plans the large path of a unit of complex size n.
func planBig(info gpu.DeviceInfo, n int) (bigPlan, error) {
	// a split into two direct transforms, else Bluestein over a smooth size split so, else a
	// split whose halves use Bluestein themselves
	pmax, classes, few := fftLanesMax(info), fftClasses(info), fftFewLanes(info)
	if p1, p2, ok := splitSize(n, pmax, classes, few, true); ok {
		return bigPlan{N: n, M: n, p1: p1, p2: p2}, nil
	}
	for m := 2*n - 1; m < 8*n; m++ {
		if _, ok := factorSmoothAny(m); !ok {
			continue
		}
		if p1, p2, ok := splitSize(m, pmax, classes, few, true); ok {
			return bigPlan{N: n, M: m, blue: true, p1: p1, p2: p2}, nil
		}
	}
	if p1, p2, ok := splitSize(n, pmax, classes, few, false); ok {
		return bigPlan{N: n, M: n, p1: p1, p2: p2}, nil
	}
	return bigPlan{}, fmt.Errorf("%w: no plan for an FFT of size %d", ErrInvalidArgument, n)
}

// factorSmoothAny reports whether n's prime factors are all at most 7.
func factorSmoothAny(n int) (int, bool) {
	for _, r := range []int{2, 3, 5, 7} {
		for n%r == 0 {
			n /= r
		}
	}
	return n, n == 1
}

// newBigPlan plans and uploads the large path of a real transform of length nfft.
// Its tensors come from up: tensors it owns (own), or stream temporaries.
func newBigPlan(d *gpu.Device, nfft int, window []float64, up uploader, own bool) (*bigPlan, error) {
	n := nfft
	if nfft%2 == 0 {
		n = nfft / 2
	}
	b, err := planBig(d.Info(), n)
	if err != nil {
		return nil, shapeErr("fft", "n_fft = %d: %v", nfft, err)
	}
	t1 := fftTables(b.p1, 0, nil)
	b.tw1 = len(t1) / 2
	for j := 0; j < b.M; j++ {
		s, c := math.Sincos(-2 * math.Pi * float64(j) / float64(b.M))
		t1 = append(t1, float32(c), float32(s))
	}
	t2 := fftTables(b.p2, 0, nil)
	// edge: window, w_2N^k, chirp, B̂/M
	var e []float32
	b.tWin = 0
	for _, w := range window {
		e = append(e, float32(w))
	}
	if len(e)%2 == 1 {
		e = append(e, 0)
	}
	b.tPost = len(e) / 2
	for k := 0; k < n; k++ {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(2*n))
		e = append(e, float32(c), float32(s))
	}
	b.tChirp = len(e) / 2
	chirp := make([]complex128, n)
	for j := range chirp {
		q := (int64(j) * int64(j)) % int64(2*n)
		s, c := math.Sincos(-math.Pi * float64(q) / float64(n))
		chirp[j] = complex(c, s)
		e = append(e, float32(c), float32(s))
	}
	b.tBh = len(e) / 2
	if b.blue {
		bv := make([]complex128, b.M)
		for j := 0; j < n; j++ {
			bv[j] = cmplx.Conj(chirp[j])
			if j > 0 {
				bv[b.M-j] = bv[j]
			}
		}
		for _, v := range fourier.NewCmplxFFT(b.M).Coefficients(nil, bv) {
			v /= complex(float64(b.M), 0)
			e = append(e, float32(real(v)), float32(imag(v)))
		}
	}
	if b.tab1, err = up(t1); err == nil {
		if b.tab2, err = up(t2); err == nil {
			b.edgeT, err = up(e)
		}
	}
	if err != nil {
		if own {
			b.close()
		}
		return nil, err
	}
	return &b, nil
}

// Edge kernel modes and flags (fft_edge.comp).
const (
	edgeFrame   = 0
	edgeSplit   = 1
	edgePack    = 2
	edgeUnframe = 3
	edgeMul     = 4

	edgeConjIn  = 8
	edgeConjOut = 16
	edgeTable   = 32
)

// edgePush are fft_edge.comp's push constants (88 bytes).
type edgePush struct {
	N, M, nfft, hop, pad, L, frames, nframes, units, unit0, flags, xBase, oBase, f0, f1, sB, sF, sM uint32
	scale                                                                                           float32
	tWin, tPost, tMul                                                                               uint32
}

func (p edgePush) bytes() []byte {
	return gpu.Push(p.N, p.M, p.nfft, p.hop, p.pad, p.L, p.frames, p.nframes, p.units, p.unit0, p.flags, p.xBase, p.oBase,
		p.f0, p.f1, p.sB, p.sF, p.sM, p.scale, p.tWin, p.tPost, p.tMul)
}

const edgeChunk = 16 // elements per invocation of fft_edge.comp

func (b *bigPlan) edge(s *gpu.Stream, mode int, p edgePush, in, out *gpu.Tensor) error {
	k, err := kernel(s.Device(), "fft_edge", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 22*4, uint32(mode), edgeChunk)
	if err != nil {
		return err
	}
	per := b.M
	if mode == edgeSplit || mode == edgeUnframe {
		per = b.N
	}
	groups, err := group1D(s.Device(), int(p.units)*ceilDiv(per, edgeChunk), 64)
	if err != nil {
		return err
	}
	p.N, p.M = uint32(b.N), uint32(b.M)
	p.tWin, p.tPost = uint32(b.tWin), uint32(b.tPost)
	return s.Dispatch(k, groups, p.bytes(), in, b.edgeT, out)
}

// mul records out[u][j] = conj?(conj?(in[u][j]) × table[j]) over units units.
func (b *bigPlan) mul(s *gpu.Stream, units int, in, out *gpu.Tensor, flags uint32, tab int) error {
	return b.edge(s, edgeMul, edgePush{units: uint32(units), flags: flags | edgeTable, tMul: uint32(tab), frames: 1, nframes: 1}, in, out)
}

// fft4 records the four-step forward FFT of size M of units units: A → B (columns) → A (rows).
func (b *bigPlan) fft4(s *gpu.Stream, units int, a, bb *gpu.Tensor) error {
	d := s.Device()
	m1, m2 := b.p1.N, b.p2.N
	k1, sh1, err := fftUnitKernel(d, b.p1, false)
	if err != nil {
		return err
	}
	p := fftPush{frames: uint32(m2), nframes: uint32(units * m2), flags: 16, L: uint32(b.M), hop: 1, pad: uint32(m2),
		sB: uint32(b.M), sF: 1, sM: uint32(m2), f0: uint32(b.tw1), f1: 1, scale: 1}
	if err := fftDispatch(s, k1, sh1, b.p1, p, units*m2, a, b.tab1, bb); err != nil {
		return err
	}
	k2, sh2, err := fftUnitKernel(d, b.p2, false)
	if err != nil {
		return err
	}
	p = fftPush{frames: uint32(m1), nframes: uint32(units * m1), flags: 16, L: uint32(b.M), hop: uint32(m2), pad: 1,
		sB: uint32(b.M), sF: 1, sM: uint32(m1), scale: 1}
	return fftDispatch(s, k2, sh2, b.p2, p, units*m1, bb, b.tab2, a)
}

// dft records the forward DFT of size N (Bluestein's through size M) of units units held in a,
// packed (and chirped when Bluestein) already; the result, natural order, ends in a.
func (b *bigPlan) dft(s *gpu.Stream, units int, a, bb *gpu.Tensor) error {
	if err := b.fft4(s, units, a, bb); err != nil {
		return err
	}
	if !b.blue {
		return nil
	}
	if err := b.mul(s, units, a, bb, edgeConjOut, b.tBh); err != nil {
		return err
	}
	if err := b.fft4(s, units, bb, a); err != nil {
		return err
	}
	return b.mul(s, units, bb, a, edgeConjIn, b.tChirp)
}

// bigScratchBytes bounds each of the two scratch tensors of the large path.
const bigScratchBytes = 16 << 20

// forward records the STFT of rows of x through the large path (as STFTPlan.forward).
func (b *bigPlan) forward(s *gpu.Stream, p stftParams, xv, ov *gpu.Tensor, xb, ob, rows, l, frames, f, f0, f1 int, flags uint32, scale float32) error {
	odd := p.nfft%2 == 1
	nframes := rows * frames
	units := nframes
	if odd {
		units = ceilDiv(nframes, 2)
	}
	cu := max(bigScratchBytes/(8*b.M), 1)
	a, err := s.Temp(gpu.F32, 2*min(cu, units)*b.M)
	if err != nil {
		return err
	}
	bb, err := s.Temp(gpu.F32, 2*min(cu, units)*b.M)
	if err != nil {
		return err
	}
	for u0 := 0; u0 < units; u0 += cu {
		nu := min(cu, units-u0)
		ep := edgePush{nfft: uint32(p.nfft), hop: uint32(p.hop), pad: uint32(p.pad()), L: uint32(l), frames: uint32(frames),
			nframes: uint32(nframes), units: uint32(nu), unit0: uint32(u0), flags: flags & (fftOdd | fftReflect | fftTwoSided), xBase: uint32(xb)}
		if b.blue {
			ep.flags |= edgeTable
			ep.tMul = uint32(b.tChirp)
		}
		if err := b.edge(s, edgeFrame, ep, xv, a); err != nil {
			return err
		}
		if err := b.dft(s, nu, a, bb); err != nil {
			return err
		}
		ep = edgePush{nfft: uint32(p.nfft), frames: uint32(frames), nframes: uint32(nframes), units: uint32(nu), unit0: uint32(u0),
			flags: flags & (fftOdd | fftTwoSided), oBase: uint32(ob), f0: uint32(f0), f1: uint32(f1),
			sB: uint32(f * frames), sF: uint32(frames), sM: 1, scale: scale}
		if err := b.edge(s, edgeSplit, ep, a, ov); err != nil {
			return err
		}
	}
	return nil
}

// inverse records the windowed inverse frames of rows×frames spectrum frames (spectrum view sv
// at float offset sb, strides sB, sF, sM complex) into fb ([rows·frames, nfft] at float ob).
func (b *bigPlan) inverse(s *gpu.Stream, p stftParams, sv *gpu.Tensor, sb, rows, frames, sB, sF, sM int, fb *gpu.Tensor, ob int, scale float32) error {
	odd := p.nfft%2 == 1
	nframes := rows * frames
	units := nframes
	var flags uint32
	if odd {
		units = ceilDiv(nframes, 2)
		flags = fftOdd
	}
	cu := max(bigScratchBytes/(8*b.M), 1)
	a, err := s.Temp(gpu.F32, 2*min(cu, units)*b.M)
	if err != nil {
		return err
	}
	bb, err := s.Temp(gpu.F32, 2*min(cu, units)*b.M)
	if err != nil {
		return err
	}
	for u0 := 0; u0 < units; u0 += cu {
		nu := min(cu, units-u0)
		ep := edgePush{nfft: uint32(p.nfft), frames: uint32(frames), nframes: uint32(nframes), units: uint32(nu), unit0: uint32(u0),
			flags: flags | edgeConjOut, xBase: uint32(sb), sB: uint32(sB), sF: uint32(sF), sM: uint32(sM)}
		if err := b.edge(s, edgePack, ep, sv, a); err != nil {
			return err
		}
		if b.blue {
			if err := b.mul(s, nu, a, bb, 0, b.tChirp); err != nil {
				return err
			}
			if err := b.dft(s, nu, bb, a); err != nil {
				return err
			}
			a, bb = bb, a
		} else if err := b.dft(s, nu, a, bb); err != nil {
			return err
		}
		ep = edgePush{nfft: uint32(p.nfft), frames: uint32(frames), nframes: uint32(nframes), units: uint32(nu), unit0: uint32(u0),
			flags: flags | edgeConjIn, oBase: uint32(ob), scale: scale}
		if err := b.edge(s, edgeUnframe, ep, a, fb); err != nil {
			return err
		}
	}
	return nil
}
