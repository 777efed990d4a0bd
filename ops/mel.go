package ops

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/vkseq/vkseq/gpu"
)

// Mel projects power spectrograms onto a mel filterbank (and back) on the GPU with GEMM. The
// filterbank is computed on the host (MelFBanks) and kept
// on the device, replicated per batch row as GEMM's batched operand. A Mel is safe for concurrent
// use; Close frees it once nothing recorded with it is pending.
type Mel struct {
	d           *gpu.Device
	freqs, mels int
	fb          []float64 // [freqs, mels]
	fbT         *gpu.Tensor
	fbTRows     int            // batch rows of fbT: [rows, mels, freqs]
	lin         [2]*gpu.Tensor // [rows, freqs, mels]: fb itself, pinv(fbᵀ)
	linRows     [2]int
	pinv        []float64 // pinv(fbᵀ) [freqs, mels], made on first use
	retired     []*gpu.Tensor
	mu          sync.Mutex
	closed      bool
}

// NewMel keeps a copy of the filterbank fb (as MelFBanks returns it: Data [Freqs, Mels]) for use
// on d. Errors wrap ErrInvalidArgument and name fb (sizes below 1, Data of the wrong length, non-finite
// values).
func NewMel(d *gpu.Device, fb FilterBank) (*Mel, error) {
	const op = "mel"
	if d == nil {
		return nil, shapeErr(op, "device is nil")
	}
	freqs, mels := fb.Freqs, fb.Mels
	if freqs < 1 || mels < 1 {
		return nil, shapeErr(op, "fb has Freqs = %d, Mels = %d, want both >= 1", freqs, mels)
	}
	if len(fb.Data) != freqs*mels {
		return nil, shapeErr(op, "fb has %d values, want [freqs, mels] = [%d, %d] = %d", len(fb.Data), freqs, mels, freqs*mels)
	}
	for i, v := range fb.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, shapeErr(op, "fb[%d] = %v, want finite values", i, v)
		}
	}
	return &Mel{d: d, freqs: freqs, mels: mels, fb: append([]float64(nil), fb.Data...)}, nil
}

// Close frees the device copies of the filterbank. It is idempotent.
func (m *Mel) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for _, t := range append([]*gpu.Tensor{m.fbT, m.lin[0], m.lin[1]}, m.retired...) {
		if t != nil {
			t.Close()
		}
	}
	return nil
}

// replicated returns a [rows, rp, cp] tensor holding the r×c matrix mat (row-major) zero-padded
// to rp×cp, rows times, from the cached tensor *t when it has enough rows.
func (m *Mel) replicated(t **gpu.Tensor, have *int, mat []float64, rows, r, c, rp, cp int) (*gpu.Tensor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, shapeErr("mel", "mel is closed")
	}
	if *t == nil || *have < rows {
		if *t != nil {
			// recordings may still use the smaller copy: keep it until Close
			m.retired = append(m.retired, *t)
		}
		data := make([]float32, rows*rp*cp)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				data[i*cp+j] = float32(mat[i*c+j])
			}
		}
		for k := 1; k < rows; k++ {
			copy(data[k*rp*cp:], data[:rp*cp])
		}
		nt, err := m.d.FromFloat32(data, rows*rp*cp)
		if err != nil {
			return nil, err
		}
		*t, *have = nt, rows
	}
	w, err := (*t).Window(0, rows*rp*cp)
	if err != nil {
		return nil, err
	}
	return w.Reshape(rows, rp, cp)
}

// melRows is the most batch rows one GEMM of the mel projection takes: its operands must fit the
// binding range.
func melRows(d *gpu.Device, rowBytes uint64) int {
	return max(int((bindRange(d)-64)/max(rowBytes, 1)), 1)
}

func ceil4(n int) int { return (n + 3) / 4 * 4 }

// Spectrogram records the mel spectrogram of a complex spectrum spec [B, F, frames, 2] (F32, as
// STFTPlan.Forward writes it; F = freqs): out [B, mels, frames] (F32) with
//
//	out[b, j, m] = Σ_f |spec[b, f, m]|^power · fb[f, j]
//
// (torchaudio's Spectrogram(power) then MelScale). power must be finite and > 0 (2: power, 1:
// magnitude). The power spectrogram and the GEMM's product go through scratch tensors of the
// stream, padded to multiples of 4 so that GEMM takes its vec4 path; spec is not modified.
func (m *Mel) Spectrogram(s *gpu.Stream, out, spec *gpu.Tensor, power float32) error {
	const op = "mel_spectrogram"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if !(power > 0) || math.IsInf(float64(power), 1) {
		return shapeErr(op, "power = %v, want a finite value > 0", power)
	}
	if spec == nil {
		return shapeErr(op, "spec is nil")
	}
	ss := spec.Shape()
	if len(ss) != 4 || ss[1] != m.freqs || ss[3] != 2 {
		return shapeErr(op, "spec has shape %v, want [B, %d, frames, 2]", ss, m.freqs)
	}
	if err := checkTensor(op, "spec", spec, gpu.F32, ss...); err != nil {
		return err
	}
	b, frames := ss[0], ss[2]
	if err := checkTensor(op, "out", out, gpu.F32, b, m.mels, frames); err != nil {
		return err
	}
	if b == 0 || frames == 0 {
		return nil
	}
	d := s.Device()
	f, nm := m.freqs, m.mels
	fp, tp, mp := ceil4(f), ceil4(frames), ceil4(nm)
	per := min(melRows(d, uint64(fp*tp)*8), b)
	limit := bindRange(d)
	for b0 := 0; b0 < b; b0 += per {
		nb := min(per, b-b0)
		pw, err := s.Temp(gpu.F32, nb, fp, tp)
		if err != nil {
			return err
		}
		if fp != f || tp != frames {
			if err := s.Fill(pw, 0); err != nil {
				return err
			}
		}
		sv, sb, err := bindSpan("mel", spec, 2*b0*f*frames, 2*nb*f*frames, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := melElementwise(s, 0, pw, sv, melCopy{rows: nb * f, cols: frames, rpb: f, ib: sb / 2, iRS: frames, iBS: f * frames,
			oRS: tp, oBS: fp * tp, p: power}); err != nil {
			return err
		}
		a, err := m.replicated(&m.fbT, &m.fbTRows, transpose(m.fb, f, nm), nb, nm, f, mp, fp)
		if err != nil {
			return err
		}
		prod, err := s.Temp(gpu.F32, nb, mp, tp)
		if err != nil {
			return err
		}
		if err := GEMM(s, prod, a, pw, GEMMOptions{}); err != nil {
			return err
		}
		mv, mb, err := bindSpan("mel", out, b0*nm*frames, nb*nm*frames, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := melElementwise(s, 2, mv, prod, melCopy{rows: nb * nm, cols: frames, rpb: nm, iRS: tp, iBS: mp * tp,
			ob: mb, oRS: frames, oBS: nm * frames}); err != nil {
			return err
		}
	}
	return nil
}

// melCopy is a problem of stft_mel.comp: rows (row r is row r mod rpb of matrix r / rpb) of cols
// elements, with element offsets and row and matrix strides on each side.
type melCopy struct {
	rows, cols, rpb, ib, iRS, iBS, ob, oRS, oBS int
	p                                           float32
}

// melElementwise records stft_mel.comp in the given mode.
func melElementwise(s *gpu.Stream, mode int, out, in *gpu.Tensor, c melCopy) error {
	if c.rows == 0 || c.cols == 0 {
		return nil
	}
	k, err := kernel(s.Device(), "stft_mel", []gpu.Access{gpu.Read, gpu.Write}, 40, uint32(mode))
	if err != nil {
		return err
	}
	groups, err := group1D(s.Device(), c.rows*ceilDiv(c.cols, 4), 64)
	if err != nil {
		return err
	}
	push := gpu.Push(uint32(c.rows), uint32(c.cols), uint32(c.rpb), uint32(c.ib), uint32(c.iRS), uint32(c.iBS),
		uint32(c.ob), uint32(c.oRS), uint32(c.oBS), c.p)
	return s.Dispatch(k, groups, push, in, out)
}

func transpose(a []float64, r, c int) []float64 {
	t := make([]float64, len(a))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			t[j*r+i] = a[i*c+j]
		}
	}
	return t
}

// LogMel records out = ln(max(x, floor)) element by element (natural log; torchaudio-style
// log-mel with a floor, e.g. 1e-10 for power or 1e-5 for magnitude). x and out are F32 of the
// same shape; out may be x. floor must be finite and > 0.
func LogMel(s *gpu.Stream, out, x *gpu.Tensor, floor float32) error {
	const op = "log_mel"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if !(floor > 0) || math.IsInf(float64(floor), 1) {
		return shapeErr(op, "floor = %v, want a finite value > 0", floor)
	}
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	if err := checkTensor(op, "x", x, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	if err := checkTensor(op, "out", out, gpu.F32, x.Shape()...); err != nil {
		return err
	}
	n := x.Len()
	if n == 0 {
		return nil
	}
	limit := bindRange(s.Device())
	per := int((limit - 64) / 4)
	per -= per % 4
	for i0 := 0; i0 < n; i0 += per {
		c := min(per, n-i0)
		xv, xb, err := bindSpan("mel", x, i0, c, limit)
		if err != nil {
			return err
		}
		ov, ob, err := bindSpan("mel", out, i0, c, limit)
		if err != nil {
			return err
		}
		if err := melElementwise(s, 1, ov, xv, melCopy{rows: 1, cols: c, rpb: 1, ib: xb, ob: ob, p: floor}); err != nil {
			return err
		}
	}
	return nil
}

// ToLinear records the projection of a mel spectrogram mel [B, mels, frames] back onto the
// linear frequencies, out [B, F, frames] (F32), as Fast FullSubNet's mel ↔ linear mapping:
//
//	out[b, f, m] = Σ_j A[f, j] · mel[b, j, m]
//
// with A = fb itself (pinv false: the transpose of the forward projection, cheap and
// non-negative, but not an inverse) or A = pinv(fbᵀ), the Moore–Penrose pseudo-inverse computed
// in float64 by SVD on the host (pinv true: the least-squares linear spectrum whose mel projection
// is mel, exact when mel = fbᵀ·x lies in the filterbank's range; it may be negative). The
// pseudo-inverse amplifies float32 rounding by the filterbank's condition number: torchaudio's
// 80 HTK mels on 201 bins (n_fft 400) have nearly empty low filters and a condition of about 5e6,
// which costs about 4e-3 relative error there; librosa's Slaney filterbanks are near 5. mel is
// not modified.
func (m *Mel) ToLinear(s *gpu.Stream, out, mel *gpu.Tensor, pinv bool) error {
	const op = "mel_to_linear"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if mel == nil {
		return shapeErr(op, "mel is nil")
	}
	ms := mel.Shape()
	if len(ms) != 3 || ms[1] != m.mels {
		return shapeErr(op, "mel has shape %v, want [B, %d, frames]", ms, m.mels)
	}
	if err := checkTensor(op, "mel", mel, gpu.F32, ms...); err != nil {
		return err
	}
	b, frames := ms[0], ms[2]
	if err := checkTensor(op, "out", out, gpu.F32, b, m.freqs, frames); err != nil {
		return err
	}
	if b == 0 || frames == 0 {
		return nil
	}
	a := m.fb
	idx := 0
	if pinv {
		m.mu.Lock()
		if m.pinv == nil {
			p, err := pseudoInverseT(m.fb, m.freqs, m.mels)
			if err != nil {
				m.mu.Unlock()
				return shapeErr(op, "pseudo-inverse of the filterbank: %v", err)
			}
			m.pinv = p
		}
		a, idx = m.pinv, 1
		m.mu.Unlock()
	}
	d := s.Device()
	f, nm := m.freqs, m.mels
	fp, tp, mp := ceil4(f), ceil4(frames), ceil4(nm)
	per := min(melRows(d, uint64(fp*tp)*4), b)
	limit := bindRange(d)
	for b0 := 0; b0 < b; b0 += per {
		nb := min(per, b-b0)
		at, err := m.replicated(&m.lin[idx], &m.linRows[idx], a, nb, f, nm, fp, mp)
		if err != nil {
			return err
		}
		mv, mb, err := bindSpan("mel", mel, b0*nm*frames, nb*nm*frames, limit)
		if err != nil {
			return err
		}
		in, err := s.Temp(gpu.F32, nb, mp, tp)
		if err != nil {
			return err
		}
		if mp != nm || tp != frames {
			if err := s.Fill(in, 0); err != nil {
				return err
			}
		}
		if err := melElementwise(s, 2, in, mv, melCopy{rows: nb * nm, cols: frames, rpb: nm, ib: mb, iRS: frames, iBS: nm * frames,
			oRS: tp, oBS: mp * tp}); err != nil {
			return err
		}
		prod, err := s.Temp(gpu.F32, nb, fp, tp)
		if err != nil {
			return err
		}
		if err := GEMM(s, prod, at, in, GEMMOptions{}); err != nil {
			return err
		}
		lv, lb, err := bindSpan("mel", out, b0*f*frames, nb*f*frames, limit)
		if err != nil {
			return err
		}
		if err := melElementwise(s, 2, lv, prod, melCopy{rows: nb * f, cols: frames, rpb: f, iRS: tp, iBS: fp * tp,
			ob: lb, oRS: frames, oBS: f * frames}); err != nil {
			return err
		}
	}
	return nil
}

// pseudoInverseT returns pinv(fbᵀ) [freqs, mels] for fb [freqs, mels], by SVD: with fbᵀ = U Σ Vᵀ,
// pinv = V Σ⁺ Uᵀ, singular values below max(freqs, mels)·ε·σ_max treated as zero.
func pseudoInverseT(fb []float64, freqs, mels int) ([]float64, error) {
	a := mat.NewDense(mels, freqs, transpose(fb, freqs, mels))
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return nil, fmt.Errorf("SVD did not converge")
	}
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	sv := svd.Values(nil)
	tol := float64(max(freqs, mels)) * 2.220446049250313e-16 * sv[0]
	out := make([]float64, freqs*mels)
	for k, s := range sv {
		if s <= tol {
			continue
		}
		for f := 0; f < freqs; f++ {
			vf := v.At(f, k) / s
			for j := 0; j < mels; j++ {
				out[f*mels+j] += vf * u.At(j, k)
			}
		}
	}
	return out, nil
}
