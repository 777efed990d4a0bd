package ops

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/vkseq/vkseq/gpu"
)

// The FFT kernels (shaders/fft.comp) transform frame units: one real frame of even length n packed
// as N = n/2 complex values, or two real frames of odd length n packed as the real and imaginary
// parts of N = n complex values. A unit's complex FFT of size M is spread over P lanes of one
// subgroup (P a power of two, at most 8 and the subgroup size), E = M/P values per lane:
//
//   - direct: M = N when N = P·E with E 7-smooth (radices 2, 3, 4, 5, 7, 8) and E within the
//     largest private-array class;
//   - Bluestein otherwise: the chirp-z convolution of length M >= 2N−1, M = P·E with E 7-smooth,
//     the chirp e^{−iπ j²/N} (with j² mod 2N taken in integers) and the filter's spectrum computed
//     in float64 on the host.
//
// Each lane runs its local FFT of size E as Stockham passes in private arrays, and the lanes combine
// their results with a DFT of size P through subgroup shuffles; nothing goes through shared memory.

// fftRadices are the butterflies fft.comp has, largest first (the order of the passes).
var fftRadices = []int{8, 4, 2, 3, 5, 7}

// fftMaxPasses is the most passes the push constants encode (4 bits each in one word).
const fftMaxPasses = 8

// factorSmooth returns the radices of n's passes (product n) or false when n has a prime factor
// above 7. Powers of two take radix 8 while they can, then one 4 or 2.
func factorSmooth(n int) ([]int, bool) {
	if n < 1 {
		return nil, false
	}
	var out []int
	for n%8 == 0 {
		out = append(out, 8)
		n /= 8
	}
	if n%4 == 0 {
		out = append(out, 4)
		n /= 4
	}
	if n%2 == 0 {
		out = append(out, 2)
		n /= 2
	}
	for _, r := range []int{3, 5, 7} {
		for n%r == 0 {
			out = append(out, r)
			n /= r
		}
	}
	return out, n == 1 && len(out) <= fftMaxPasses
}

// fftPlan is the shape of one unit's complex FFT.
type fftPlan struct {
	N, M, P, E int
	radices    []int
	blue       bool
	emax       int // private-array class of the pipeline
	reg        int // log2 N when fft_reg.comp runs the unit (E = M = N, one lane), else 0
}

// fftLanesMax is the most lanes a unit may use on d: the subgroup size (at most 8) where compute
// shaders have subgroup shuffles, else 1.
func fftLanesMax(info gpu.DeviceInfo) int {
	if !info.SubgroupInCompute || info.SubgroupSize == 0 {
		return 1
	}
	has := false
	for _, op := range info.SubgroupOps {
		has = has || op == "shuffle"
	}
	if !has {
		return 1
	}
	p := 1
	for p < 8 && p*2 <= int(info.SubgroupSize) {
		p *= 2
	}
	return p
}

// planFFT picks the lanes, split and algorithm of a complex FFT of size n on a device whose units
// may use up to pmax lanes, with private arrays of the given size classes: the smallest class
// that fits wins (compile time and private memory grow with it), then the direct transform over
// Bluestein (the smallest M), then the fewest lanes when fewLanes (lavapipe: a SIMD batch then
// carries several units, which amortises loop overheads), else the most.
func planFFT(n, pmax int, classes []int, fewLanes bool) (fftPlan, error) {
	if n < 1 {
		return fftPlan{}, fmt.Errorf("%w: fft size %d", ErrInvalidArgument, n)
	}
	var lanes []int
	for p := 1; p <= pmax; p *= 2 {
		if fewLanes {
			lanes = append(lanes, p)
		} else {
			lanes = append([]int{p}, lanes...)
		}
	}
	for _, c := range classes {
		for _, p := range lanes {
			if n%p != 0 || n/p > c {
				continue
			}
			if r, ok := factorSmooth(n / p); ok {
				return fftPlan{N: n, M: n, P: p, E: n / p, radices: r, emax: c}, nil
			}
		}
		// Bluestein: the smallest smooth M = P·E >= 2n−1
		best := fftPlan{}
		need := 2*n - 1
		for _, p := range lanes {
			for e := ceilDiv(need, p); e <= c; e++ {
				if r, ok := factorSmooth(e); ok {
					if best.M == 0 || p*e < best.M {
						best = fftPlan{N: n, M: p * e, P: p, E: e, radices: r, blue: true, emax: c}
					}
					break
				}
			}
		}
		if best.M != 0 {
			return best, nil
		}
	}
	return fftPlan{}, fmt.Errorf("%w: an FFT of size %d needs more than %d values per lane on this device", ErrInvalidArgument, n, classes[len(classes)-1])
}

// planUnit plans the FFT of the units of a real transform of length nfft on d.
func planUnit(info gpu.DeviceInfo, nfft int) (fftPlan, error) {
	n := nfft
	if nfft%2 == 0 {
		n = nfft / 2
	}
	if l := fftRegLog(info, nfft); l > 0 && !testFFTRegOff {
		r, _ := factorSmooth(n)
		return fftPlan{N: n, M: n, P: 1, E: n, radices: r, reg: l}, nil
	}
	pl, err := planFFT(n, fftLanesMax(info), fftClasses(info), fftFewLanes(info))
	if err != nil {
		return pl, shapeErr("fft", "n_fft = %d is larger than this device's FFT kernels take", nfft)
	}
	return pl, nil
}

// fftTables returns the float32 tables of fft.comp for a unit plan and a length-nfft window (in
// float64; nil means ones): w_E^j (E), w_M^j (M), w_2N^j (N), the chirp (N) and B̂/M (M) as
// complex pairs, then the window (nfft floats, padded to even). Everything is computed in float64.
func fftTables(pl fftPlan, nfft int, window []float64) []float32 {
	n, m, e := pl.N, pl.M, pl.E
	out := make([]float32, 0, 2*(e+2*m+2*n)+nfft+1)
	put := func(c complex128) { out = append(out, float32(real(c)), float32(imag(c))) }
	root := func(j, k int) complex128 { // e^{−2πi j/k}, exact at the quarter turns
		j %= k
		switch {
		case j == 0:
			return 1
		case 4*j == k:
			return -1i
		case 2*j == k:
			return -1
		case 4*j == 3*k:
			return 1i
		}
		s, c := math.Sincos(-2 * math.Pi * float64(j) / float64(k))
		return complex(c, s)
	}
	for j := 0; j < e; j++ {
		put(root(j, e))
	}
	for j := 0; j < m; j++ {
		put(root(j, m))
	}
	for j := 0; j < n; j++ {
		put(root(j, 2*n))
	}
	chirp := make([]complex128, n)
	for j := range chirp {
		// e^{−iπ j²/N} = e^{−2πi (j² mod 2N) / 2N}, j² mod 2N in integers
		q := int((int64(j) * int64(j)) % int64(2*n))
		chirp[j] = root(q, 2*n)
		put(chirp[j])
	}
	if pl.blue {
		b := make([]complex128, m)
		for j := 0; j < n; j++ {
			b[j] = cmplx.Conj(chirp[j])
			if j > 0 {
				b[m-j] = b[j]
			}
		}
		bh := fourier.NewCmplxFFT(m).Coefficients(nil, b)
		for _, v := range bh {
			put(v / complex(float64(m), 0))
		}
	} else {
		for j := 0; j < m; j++ {
			put(0)
		}
	}
	for j := 0; j < nfft; j++ {
		w := 1.0
		if window != nil {
			w = window[j]
		}
		out = append(out, float32(w))
	}
	if nfft%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// fftPush are the push constants of fft.comp (100 bytes).
type fftPush struct {
	N, E, P, plan, npass, nfft, hop, pad, L, frames, nframes, units, K, flags, xBase, oBase, F, f0, f1, sB, sF, sM uint32
	scale                                                                                                          float32
	prog0, prog1                                                                                                   uint32
}

func (p fftPush) bytes() []byte {
	return gpu.Push(p.N, p.E, p.P, p.plan, p.npass, p.nfft, p.hop, p.pad, p.L, p.frames, p.nframes, p.units, p.K,
		p.flags, p.xBase, p.oBase, p.F, p.f0, p.f1, p.sB, p.sF, p.sM, p.scale, p.prog0, p.prog1)
}

const fftPushSize = 25 * 4

// Step codes of fft.comp's program.
const (
	stepLocal     = 1 // local FFT of size E (Stockham passes)
	stepCrossPre  = 2 // × w_M^{t k2}, then the DFT of size P across lanes (normal order)
	stepCrossPost = 3 // the DFT across lanes, then × w_M^{t k2} (transposed order)
	stepConj      = 4
	stepChirp     = 5 // × Bluestein chirp
	stepBh        = 6 // × B̂/M, conjugated
)

// fftProgram returns the step program of a plan: the forward DFT of the unit, or (inverse) the
// unnormalised inverse DFT, as conj(DFT(conj z)).
func fftProgram(pl fftPlan, inverse bool) (uint32, uint32) {
	var steps []int
	cross := func(code int) {
		if pl.P > 1 {
			steps = append(steps, code)
		}
	}
	if inverse {
		steps = append(steps, stepConj)
	}
	if pl.blue {
		steps = append(steps, stepChirp)
		cross(stepCrossPost)
		steps = append(steps, stepLocal, stepBh, stepLocal)
		cross(stepCrossPre)
		steps = append(steps, stepConj, stepChirp)
	} else if inverse {
		// transposed order: blocked spectrum in, strided samples out
		cross(stepCrossPost)
		steps = append(steps, stepLocal)
	} else {
		steps = append(steps, stepLocal)
		cross(stepCrossPre)
	}
	if inverse {
		steps = append(steps, stepConj)
	}
	var w [2]uint32
	for i, c := range steps {
		w[i/8] |= uint32(c) << (4 * (i % 8))
	}
	return w[0], w[1]
}

// Flags of fft.comp.
const (
	fftOdd      = 1
	fftReflect  = 2
	fftTwoSided = 4
	fftInverse  = 8
	fftAligned  = 32 // fft_reg.comp: frames start on 16-byte boundaries
)

// fftUnitKernel returns the pipeline of fft.comp for a plan (both directions share it). Some small
// one-lane plans (fftFixed) get a pipeline of their own with the sizes fixed, whose loops LLVM
// unrolls into registers.
func fftUnitKernel(d *gpu.Device, pl fftPlan, inverse bool) (*gpu.Kernel, fftShape, error) {
	if pl.reg > 0 {
		// fftDispatch picks fft_reg.comp or fft_reg_t.comp (see fftRegKernel) by the table
		return nil, fftShape{Local: fftRegLocal, K: 1, MinGroups: 1}, nil
	}
	sh := fftShapeFor(d.Info(), pl)
	spec := []uint32{uint32(sh.Local), uint32(pl.emax), b2u(pl.blue), 0, 0, 0}
	if pl.P == 1 && fftFixed(d.Info(), pl.E) {
		word, _ := fftPlanWord(pl)
		spec[1] = uint32(pl.E + pl.E%2)
		spec[3], spec[4], spec[5] = uint32(pl.E), word, uint32(len(pl.radices))
	}
	if testFFTAlt != nil {
		k, err := d.Kernel(gpu.KernelSpec{Name: "fft_alt", SPIRV: testFFTAlt, Bindings: []gpu.Access{gpu.Read, gpu.Read, gpu.Write},
			PushSize: fftPushSize, Spec: spec})
		return k, sh, err
	}
	k, err := kernel(d, "fft", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, fftPushSize, spec...)
	return k, sh, err
}

// fftRegKernel returns the pipeline of fft_reg.comp for a plan with pl.reg > 0, of fft_reg_t.comp,
// which reads the table (binding 1) through a uniform texel buffer, when texel is set, or of
// fft_reg_tt.comp, which reads its input (binding 0) so too, when texelIn is set as well.
func fftRegKernel(d *gpu.Device, pl fftPlan, inverse, texel, texelIn bool) (*gpu.Kernel, error) {
	l2 := pl.reg / 2
	name, acc := "fft_reg", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}
	if texel && texelIn {
		name, acc = "fft_reg_tt", []gpu.Access{gpu.Read | gpu.Texel, gpu.Read | gpu.Texel, gpu.Write}
	} else if texel {
		name, acc = "fft_reg_t", []gpu.Access{gpu.Read, gpu.Read | gpu.Texel, gpu.Write}
	}
	return kernel(d, name, acc, fftPushSize, fftRegLocal, uint32(pl.reg-l2), uint32(l2), b2u(inverse))
}

// fftPlanWord packs a plan's radices, 4 bits each, first pass lowest.
func fftPlanWord(pl fftPlan) (uint32, uint32) {
	var w uint32
	for i, r := range pl.radices {
		w |= uint32(r) << (4 * i)
	}
	return w, uint32(len(pl.radices))
}

// Test knobs: a step program and units per invocation replacing the planned ones.
var (
	testFFTProg   *[2]uint32
	testFFTK      int
	testFFTFlags  uint32
	testFFTAlt    []byte // another build of fft.comp (exploration)
	testFFTRegOff bool   // plan without fft_reg.comp
	// testFFTRegTabOff makes fft_reg.comp read its table as a storage buffer (no fft_reg_t.comp).
	testFFTRegTabOff bool
	// testFFTRegInOff makes fft_reg_t.comp read its input as a storage buffer (no fft_reg_tt.comp).
	testFFTRegInOff bool
)

// fftDispatch records fft.comp over units frame units with push p (its unit fields are filled
// here), choosing the units per invocation from the tuning.
func fftDispatch(s *gpu.Stream, k *gpu.Kernel, sh fftShape, pl fftPlan, p fftPush, units int, in, tab, out *gpu.Tensor) error {
	if pl.reg > 0 {
		// frames start on 16-byte boundaries: vec4 loads and stores
		if p.flags&fftInverse != 0 {
			if p.oBase%4 == 0 && p.nfft%4 == 0 {
				p.flags |= fftAligned
			}
		} else if p.xBase%4 == 0 && p.L%4 == 0 && p.hop%4 == 0 && p.pad%4 == 0 && p.nfft%4 == 0 {
			p.flags |= fftAligned
		}
		k, err := fftRegKernel(s.Device(), pl, p.flags&fftInverse != 0, fftRegTabTexel() && tab.TexelBindable(),
			fftRegInTexel() && in.TexelBindable())
		if err != nil {
			return err
		}
		p.units, p.K = uint32(units), 1
		groups, err := group1D(s.Device(), ceilDiv(units, sh.Local)*sh.Local, sh.Local)
		if err != nil {
			return err
		}
		return s.Dispatch(k, groups, p.bytes(), in, tab, out)
	}
	slots := sh.Local / pl.P
	kk := sh.K
	// keep enough workgroups to fill the device: at least sh.MinGroups unless units are few
	for kk > 1 && ceilDiv(units, slots*kk) < sh.MinGroups {
		kk /= 2
	}
	p.N, p.E, p.P = uint32(pl.N), uint32(pl.E), uint32(pl.P)
	p.plan, p.npass = fftPlanWord(pl)
	if testFFTK > 0 {
		kk = testFFTK
	}
	p.units, p.K = uint32(units), uint32(kk)
	p.prog0, p.prog1 = fftProgram(pl, p.flags&fftInverse != 0)
	if testFFTProg != nil {
		p.prog0, p.prog1 = testFFTProg[0], testFFTProg[1]
	}
	p.flags |= testFFTFlags
	groups, err := group1D(s.Device(), ceilDiv(units, slots*kk)*sh.Local, sh.Local)
	if err != nil {
		return err
	}
	return s.Dispatch(k, groups, p.bytes(), in, tab, out)
}

// RFFTPlan is a batched real FFT of length n (torch.fft.rfft / irfft along the last axis), built
// on the STFT's kernel: each row is one frame with a rectangular window.
type RFFTPlan struct {
	st *STFTPlan
	n  int
}

// NewRFFTPlan makes the tables of a real FFT of length n >= 1 on d.
func NewRFFTPlan(d *gpu.Device, n int) (*RFFTPlan, error) {
	if n < 1 {
		return nil, shapeErr("rfft", "n = %d, want >= 1", n)
	}
	st, err := NewSTFTPlan(d, STFTOptions{NFFT: n, HopLength: n, WindowKind: "ones", Onesided: true})
	if err != nil {
		return nil, err
	}
	return &RFFTPlan{st: st, n: n}, nil
}

// Close frees the plan's tables. It is idempotent.
func (p *RFFTPlan) Close() error {
	if p == nil {
		return nil
	}
	return p.st.Close()
}

// Forward records X[b, f] = Σ_{k<n} x[b, k] e^{−2πi f k/n} for f <= n/2: x [batch, n] F32 into
// out [batch, n/2+1, 2] F32 (re, im). x is not modified.
func (p *RFFTPlan) Forward(s *gpu.Stream, out, x *gpu.Tensor) error {
	const op = "rfft"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	xs := x.Shape()
	if len(xs) != 2 || xs[1] != p.n {
		return shapeErr(op, "x has shape %v, want [batch, %d]", xs, p.n)
	}
	if err := checkTensor(op, "x", x, gpu.F32, xs...); err != nil {
		return err
	}
	f := p.n/2 + 1
	if err := checkTensor(op, "out", out, gpu.F32, xs[0], f, 2); err != nil {
		return err
	}
	if p.st.isClosed() {
		return shapeErr(op, "plan is closed")
	}
	if xs[0] == 0 {
		return nil
	}
	return p.st.forward(s, out, x, xs[0], p.n, 1, f, 0)
}

// Inverse records torch.fft.irfft(spec, n): y[b, k] = (1/n) Σ_{f<n} X[b, f] e^{2πi f k/n} with
// the spectrum completed by Hermitian symmetry from bins 0..n/2 (the imaginary parts of the DC
// and, for even n, Nyquist bins taken as 0): spec [batch, n/2+1, 2] F32 into out [batch, n] F32.
// spec is not modified.
func (p *RFFTPlan) Inverse(s *gpu.Stream, out, spec *gpu.Tensor) error {
	const op = "irfft"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if spec == nil {
		return shapeErr(op, "spec is nil")
	}
	f := p.n/2 + 1
	ss := spec.Shape()
	if len(ss) != 3 || ss[1] != f || ss[2] != 2 {
		return shapeErr(op, "spec has shape %v, want [batch, %d, 2]", ss, f)
	}
	if err := checkTensor(op, "spec", spec, gpu.F32, ss...); err != nil {
		return err
	}
	if err := checkTensor(op, "out", out, gpu.F32, ss[0], p.n); err != nil {
		return err
	}
	if p.st.isClosed() {
		return shapeErr(op, "plan is closed")
	}
	rows := ss[0]
	if rows == 0 {
		return nil
	}
	d := s.Device()
	pl := p.st.pl
	k, sh, err := fftUnitKernel(d, pl, true)
	if err != nil {
		return err
	}
	limit := bindRange(d)
	rowBytes := uint64(2*f+p.n) * 4
	perPart := max(int((limit-64)/rowBytes), 1)
	odd := p.n%2 == 1
	flags := uint32(fftInverse)
	if odd {
		flags |= fftOdd
	}
	for r0 := 0; r0 < rows; r0 += perPart {
		nr := min(perPart, rows-r0)
		sv, sb, err := bindSpan("irfft", spec, r0*2*f, nr*2*f, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		yv, yb, err := bindSpan("irfft", out, r0*p.n, nr*p.n, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if p.st.big != nil {
			if err := p.st.big.inverse(s, p.st.p, sv, sb, nr, 1, f, 1, 1, yv, yb, float32(1/float64(p.n))); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			continue
		}
		units := nr
		if odd {
			units = ceilDiv(nr, 2)
		}
		pp := fftPush{nfft: uint32(p.n), hop: uint32(p.n), frames: 1, nframes: uint32(nr), flags: flags,
			xBase: uint32(sb), oBase: uint32(yb), F: uint32(f), sB: uint32(f), sF: 1, sM: 1, scale: float32(1 / float64(p.n))}
		if err := fftDispatch(s, k, sh, pl, pp, units, sv, p.st.tab, yv); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}
