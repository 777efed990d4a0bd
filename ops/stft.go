package ops

import (
	"fmt"
	"math"
	"sync"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/stftopt"
)

// STFTOptions are torch.stft / torch.istft's parameters (stftopt.Options, shared with reference:
// the zero value of a field means its default; DefaultSTFTOptions gives torch's defaults with a
// periodic Hann window): NFFT, HopLength (0: NFFT/4), WinLength (0: NFFT; a shorter window is
// zero-padded centred), Window (user-given, [WinLength] values) or WindowKind ("hann", "ones"),
// Center, PadMode ("reflect" without edge repeat, "constant"), Normalized (× 1/sqrt(NFFT)),
// Onesided, and Length (ISTFT only). The window values are computed by ops itself (STFTWindow).
type STFTOptions = stftopt.Options

// DefaultSTFTOptions returns torch's defaults for n_fft nfft with a periodic Hann window: hop
// nfft/4, win_length nfft, center, reflect padding, not normalized, onesided.
func DefaultSTFTOptions(nfft int) STFTOptions { return stftopt.Default(nfft) }

// stftParams are resolved, validated options with the window.
type stftParams struct {
	nfft, hop, win int
	window         []float64 // [nfft], centred
	center         bool
	reflect        bool
	normalized     bool
	onesided       bool
	freqs          int
	sp             stftopt.Params
}

func (p stftParams) pad() int { return p.sp.Pad() }

// resolveSTFT validates opt (stftopt.Resolve) and computes the window; errors wrap ErrInvalidArgument and
// name the parameter.
func resolveSTFT(op string, opt STFTOptions) (stftParams, error) {
	var p stftParams
	sp, err := stftopt.Resolve(opt)
	if err != nil {
		return p, shapeErr(op, "%v", err)
	}
	p.sp = sp
	p.nfft, p.hop, p.win = sp.NFFT, sp.Hop, sp.Win
	p.window = paddedWindow(sp)
	p.center, p.reflect, p.normalized, p.onesided, p.freqs = sp.Center, sp.Reflect, sp.Normalized, sp.Onesided, sp.Freqs
	return p, nil
}

// frames returns the frame count of a signal of the given length.
func (p stftParams) frames(op string, length int) (int, error) {
	n, err := p.sp.Frames(length)
	if err != nil {
		return 0, shapeErr(op, "%v", err)
	}
	return n, nil
}

// STFTPlan holds the device tables of one set of STFT options (twiddles, window, Bluestein chirp,
// overlap-add envelope): make one per options with NewSTFTPlan and record STFT (Forward) and iSTFT
// (Inverse) with it on any number of streams. Forward and Inverse only read it (the iSTFT's frame
// scratch comes from Stream.Temp), so a plan may be used from several streams at once. Close frees
// it once nothing recorded with it is pending.
type STFTPlan struct {
	p   stftParams
	pl  fftPlan
	tab *gpu.Tensor // fft.comp tables
	ola *gpu.Tensor // wsq [n], per [hop]
	big *bigPlan    // the large-size path, when pl does not fit one group of lanes
	own bool        // the tensors are the plan's (false: stream temporaries)

	mu     sync.Mutex
	closed bool
}

// uploader makes a device tensor holding float32 values.
type uploader func([]float32) (*gpu.Tensor, error)

// deviceUploader uploads into tensors owned by the caller.
func deviceUploader(d *gpu.Device) uploader {
	return func(v []float32) (*gpu.Tensor, error) { return d.FromFloat32(v, len(v)) }
}

// NewSTFTPlan validates opt and uploads its tables. Errors wrap ErrInvalidArgument and name the parameter.
func NewSTFTPlan(d *gpu.Device, opt STFTOptions) (*STFTPlan, error) {
	if d == nil {
		return nil, shapeErr("stft", "device is nil")
	}
	return newSTFTPlan(d, opt, deviceUploader(d), true)
}

// newSTFTPlan makes a plan whose tensors come from up; own says whether Close frees them.
func newSTFTPlan(d *gpu.Device, opt STFTOptions, up uploader, own bool) (*STFTPlan, error) {
	const op = "stft"
	p, err := resolveSTFT(op, opt)
	if err != nil {
		return nil, err
	}
	pl, err := planUnit(d.Info(), p.nfft)
	var big *bigPlan
	if err != nil {
		if big, err = newBigPlan(d, p.nfft, p.window, up, own); err != nil {
			return nil, err
		}
		pl = fftPlan{N: 1, M: 1, P: 1, E: 1, emax: fftClasses(d.Info())[0]} // unused
	}
	tab, err := up(fftTables(pl, p.nfft, p.window))
	if err != nil {
		if big != nil && own {
			big.close()
		}
		return nil, err
	}
	// squared window and its hop-periodic sum for the overlap-add
	ola := make([]float32, p.nfft+p.hop)
	per := make([]float64, p.hop)
	for k, w := range p.window {
		ola[k] = float32(w * w)
		per[k%p.hop] += w * w
	}
	for r, v := range per {
		ola[p.nfft+r] = float32(v)
	}
	olaT, err := up(ola)
	if err != nil {
		if own {
			tab.Close()
			if big != nil {
				big.close()
			}
		}
		return nil, err
	}
	return &STFTPlan{p: p, pl: pl, tab: tab, ola: olaT, big: big, own: own}, nil
}

// tempPlan makes a plan of opt whose tables are temporaries of s (freed when its submission
// completes): the one-shot STFT and ISTFT use it, so no plan outlives the call's submission.
func tempPlan(s *gpu.Stream, opt STFTOptions) (*STFTPlan, error) {
	up := func(v []float32) (*gpu.Tensor, error) {
		t, err := s.Temp(gpu.F32, len(v))
		if err != nil {
			return nil, err
		}
		return t, t.WriteFloat32(v)
	}
	return newSTFTPlan(s.Device(), opt, up, false)
}

// Close frees the plan's tensors. It is idempotent.
func (pl *STFTPlan) Close() error {
	if pl == nil {
		return nil
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		return nil
	}
	pl.closed = true
	if !pl.own {
		return nil // stream temporaries
	}
	pl.tab.Close()
	pl.ola.Close()
	if pl.big != nil {
		pl.big.close()
	}
	return nil
}

// Freqs is the number of frequency bins F of the plan's spectra: NFFT/2+1 when onesided, else NFFT.
func (pl *STFTPlan) Freqs() int { return pl.p.freqs }

// Shape returns the frequency and frame counts of the STFT of a signal of length samples:
// F = NFFT/2+1 (onesided) or NFFT, frames = 1 + (L_pad − NFFT)/HopLength with L_pad = length +
// 2·(NFFT/2) when Center, else length. Errors (wrapping ErrInvalidArgument) name n_fft (longer than the
// padded signal) or pad_mode (reflect padding needs NFFT/2 < length).
func (pl *STFTPlan) Shape(length int) (freqs, frames int, err error) {
	if length < 0 {
		return 0, 0, shapeErr("stft", "length = %d, want >= 0", length)
	}
	frames, err = pl.p.frames("stft", length)
	return pl.p.freqs, frames, err
}

// STFTShape returns Shape for the given options without making a plan.
func STFTShape(length int, opt STFTOptions) (freqs, frames int, err error) {
	p, err := resolveSTFT("stft", opt)
	if err != nil {
		return 0, 0, err
	}
	if length < 0 {
		return 0, 0, shapeErr("stft", "length = %d, want >= 0", length)
	}
	frames, err = p.frames("stft", length)
	return p.freqs, frames, err
}

// Forward records the STFT of x [B, L] (F32) into out [B, F, frames, 2] (F32, re and im
// interleaved as torch.view_as_real), F and frames as Shape(L):
//
//	out[b, f, m] = s Σ_{k<NFFT} window[k] xp[b, m·hop + k] e^{−2πi f k / NFFT}
//
// with xp the signal padded by NFFT/2 on each side when Center (reflect without repeating the
// edge sample, or zeros) and s = 1/sqrt(NFFT) when Normalized, else 1. The signal is read once per
// frame by the FFT kernel itself (framing, padding and window are fused into its first step); x
// is not modified. Tensors larger than the device's binding range are bound in windows.
func (pl *STFTPlan) Forward(s *gpu.Stream, out, x *gpu.Tensor) error {
	const op = "stft"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if x == nil {
		return shapeErr(op, "x is nil")
	}
	xs := x.Shape()
	if len(xs) != 2 {
		return shapeErr(op, "x has shape %v, want [B, L]", xs)
	}
	if err := checkTensor(op, "x", x, gpu.F32, xs...); err != nil {
		return err
	}
	b, l := xs[0], xs[1]
	f, frames, err := pl.Shape(l)
	if err != nil {
		return err
	}
	if err := checkTensor(op, "out", out, gpu.F32, b, f, frames, 2); err != nil {
		return err
	}
	if pl.isClosed() {
		return shapeErr(op, "plan is closed")
	}
	if b == 0 {
		return nil
	}
	flags := uint32(0)
	if pl.p.reflect {
		flags |= fftReflect
	}
	if !pl.p.onesided {
		flags |= fftTwoSided
	}
	return pl.forward(s, out, x, b, l, frames, f, flags)
}

// forward records the unit kernel over rows of the signal, split into parts whose bindings fit.
func (pl *STFTPlan) forward(s *gpu.Stream, out, x *gpu.Tensor, rows, l, frames, f int, flags uint32) error {
	const op = "stft"
	d := s.Device()
	k, sh, err := fftUnitKernel(d, pl.pl, false)
	if err != nil {
		return err
	}
	limit := bindRange(d)
	rowOut := uint64(f) * uint64(frames) * 8
	rowIn := uint64(l) * 4
	if rowIn+64 > limit {
		return shapeErr(op, "a row of x (%d samples) is longer than the device binds at once (%d bytes): use the streaming STFT", l, limit)
	}
	perPart := int(min((limit-64)/rowIn, (limit-64)/max(rowOut, 1)))
	fsplit := 1
	if perPart < 1 {
		perPart = 1
		fsplit = int((rowOut + limit - 65) / (limit - 64))
	}
	odd := pl.p.nfft%2 == 1
	if odd {
		flags |= fftOdd
	}
	scale := float32(1)
	if pl.p.normalized {
		scale = float32(1 / math.Sqrt(float64(pl.p.nfft)))
	}
	for r0 := 0; r0 < rows; r0 += perPart {
		nr := min(perPart, rows-r0)
		xv, xb, err := bindSpan("stft", x, r0*l, nr*l, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		fstep := ceilDiv(f, fsplit)
		for f0 := 0; f0 < f; f0 += fstep {
			f1 := min(f, f0+fstep)
			start := (r0*f + f0) * frames * 2
			cnt := ((nr-1)*f + (f1 - f0)) * frames * 2
			ov, ob, err := bindSpan("stft", out, start, cnt, limit)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			nframes := nr * frames
			units := nframes
			if odd {
				units = ceilDiv(nframes, 2)
			}
			if pl.big != nil {
				if err := pl.big.forward(s, pl.p, xv, ov, xb, ob, nr, l, frames, f, f0, f1, flags, scale); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
				continue
			}
			p := fftPush{nfft: uint32(pl.p.nfft), hop: uint32(pl.p.hop), pad: uint32(pl.p.pad()), L: uint32(l),
				frames: uint32(frames), nframes: uint32(nframes), flags: flags, xBase: uint32(xb), oBase: uint32(ob),
				F: uint32(f), f0: uint32(f0), f1: uint32(f1), sB: uint32(f * frames), sF: uint32(frames), sM: 1, scale: scale}
			if err := fftDispatch(s, k, sh, pl.pl, p, units, xv, pl.tab, ov); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
	}
	return nil
}

func (pl *STFTPlan) isClosed() bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.closed
}

// ISTFTLength returns the output length of Inverse for a spectrum of the given frame count: the
// options' Length when given (> 0), else NFFT + HopLength·(frames−1), less 2·(NFFT/2) when Center
// (at least 0).
func (pl *STFTPlan) ISTFTLength(frames int) int { return pl.p.sp.ISTFTLength(frames) }

// istftScratchBytes bounds the iSTFT's frame scratch (istftScratch, lowered by tests).
const istftScratchBytes = 32 << 20

var istftScratch = istftScratchBytes

// Inverse records torch.istft of spec [B, F, frames, 2] (F32; F = NFFT/2+1 when Onesided, else
// NFFT, of which only bins 0..NFFT/2 are read, as torch does) into out [B, ISTFTLength(frames)]
// (F32): each frame is inverted as a real inverse FFT (1/NFFT, or 1/sqrt(NFFT) when
// Normalized) with the imaginary parts of the DC and Nyquist bins taken as 0, multiplied by the
// window, overlap-added as a gather (each output sample sums the frames that cover it) and
// divided by the overlap-added squared window; NFFT/2 samples are trimmed from each end when
// Center, and the output is cut or zero-padded to the options' Length when it is > 0.
//
// The window envelope is checked on the host first: where it falls below 1e-11 in the kept range
// the error names NOLA (no NaN is ever written). As torch, HopLength must not exceed WinLength.
// spec is not modified.
func (pl *STFTPlan) Inverse(s *gpu.Stream, out, spec *gpu.Tensor) error {
	const op = "istft"
	if s == nil {
		return shapeErr(op, "stream is nil")
	}
	if spec == nil {
		return shapeErr(op, "spec is nil")
	}
	ss := spec.Shape()
	if len(ss) != 4 || ss[3] != 2 {
		return shapeErr(op, "spec has shape %v, want [B, F, frames, 2]", ss)
	}
	if err := checkTensor(op, "spec", spec, gpu.F32, ss...); err != nil {
		return err
	}
	p := pl.p
	b, f, frames := ss[0], ss[1], ss[2]
	if f != p.freqs {
		side := "n_fft when onesided is false"
		if p.onesided {
			side = "n_fft/2+1 when onesided is true"
		}
		return shapeErr(op, "spec has %d frequencies (shape %v), want F = %d (%s)", f, ss, p.freqs, side)
	}
	if frames < 1 {
		return shapeErr(op, "spec has %d frames (shape %v), want >= 1", frames, ss)
	}
	if err := p.sp.CheckISTFT(); err != nil {
		return shapeErr(op, "%v", err)
	}
	outLen := pl.ISTFTLength(frames)
	if err := checkTensor(op, "out", out, gpu.F32, b, outLen); err != nil {
		return err
	}
	start := p.pad()
	if err := pl.checkNOLA(op, frames, start, outLen); err != nil {
		return err
	}
	if pl.isClosed() {
		return shapeErr(op, "plan is closed")
	}
	if b == 0 || outLen == 0 {
		return nil
	}
	return pl.inverse(s, out, spec, b, f, frames, 2*f*frames, 0, start, outLen, outLen)
}

// checkNOLA verifies that the envelope is at least 1e-11 at padded positions [start, start+n)
// that lie inside the overlap-added signal of the given frame count. Interior positions (every
// frame that could cover them exists) repeat with period hop, so one period of them is checked.
func (pl *STFTPlan) checkNOLA(op string, frames, start, n int) error {
	p := pl.p
	total := p.nfft + p.hop*(frames-1)
	end := min(start+n, total)
	iLo, iHi := max(p.nfft-p.hop, 0), p.hop*frames // interior: [iLo, iHi)
	for pos := start; pos < end; pos++ {
		if pos >= iLo && pos < iHi && pos >= max(start, iLo)+p.hop {
			pos = iHi - 1
			continue
		}
		lo := 0
		if pos >= p.nfft {
			lo = (pos-p.nfft)/p.hop + 1
		}
		hi := min(pos/p.hop, frames-1)
		env := 0.0
		for m := lo; m <= hi; m++ {
			w := p.window[pos-m*p.hop]
			env += w * w
		}
		if !(env >= 1e-11) {
			return shapeErr(op, "window overlap-add envelope is %.3g at sample %d of the output (want >= 1e-11): the window and hop_length = %d fail NOLA", env, pos-start, p.hop)
		}
	}
	return nil
}

// inverse records the inverse FFTs and the overlap-add of output samples [0, cnt) of every row
// (padded positions p0..p0+cnt) into y (rows of yStride samples, starting at sample i0), from
// spec rows of rowLen floats starting at spec element sBase. It works in chunks of frames whose
// scratch fits istftScratchBytes.
func (pl *STFTPlan) inverse(s *gpu.Stream, y, spec *gpu.Tensor, rows, f, frames, rowLen, i0, p0, cnt, yStride int) error {
	const op = "istft"
	d := s.Device()
	p := pl.p
	n, hop := p.nfft, p.hop
	k, sh, err := fftUnitKernel(d, pl.pl, true)
	if err != nil {
		return err
	}
	const olaSPI = 8 // samples per invocation of istft_ola.comp
	ola, err := kernel(d, "istft_ola", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 13*4, 64, olaSPI)
	if err != nil {
		return err
	}
	limit := bindRange(d)
	if uint64(rowLen)*4+64 > limit {
		return shapeErr(op, "a row of spec (%d floats) is larger than the device binds at once (%d bytes): use the streaming iSTFT", rowLen, limit)
	}
	perPart := int((limit - 64) / (uint64(rowLen) * 4))
	perPart = min(perPart, max(istftScratch/4/(n+2*hop), 1))
	ov := ceilDiv(n, hop) - 1 // frames before a chunk that still reach into it
	total := n + hop*(frames-1)
	odd := n%2 == 1
	flags := uint32(fftInverse)
	if odd {
		flags |= fftOdd
	}
	scale := float32(1 / float64(n))
	if p.normalized {
		scale = float32(1 / math.Sqrt(float64(n)))
	}
	for r0 := 0; r0 < rows; r0 += perPart {
		nr := min(perPart, rows-r0)
		sv, sb, err := bindSpan("stft", spec, r0*rowLen, nr*rowLen, limit)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		// chunk of C frames per row: scratch nr·(C+ov)·n floats
		c := max(istftScratch/4/(nr*n)-ov, 1)
		fbT, err := s.Temp(gpu.F32, max(nr*min(c+ov, frames)*n, 1))
		if err != nil {
			return err
		}
		for q0 := p0; q0 < p0+cnt; {
			// positions [q0, q1): frames mlo..mhi cover them
			q1 := p0 + cnt
			mlo := 0
			if q0 >= n {
				mlo = (q0-n)/hop + 1
			}
			if lim := (mlo + c + ov) * hop; lim < q1 {
				q1 = lim
			}
			mhi := min((q1-1)/hop, frames-1)
			mc := 0
			if q0 < total && mlo <= mhi {
				mc = mhi - mlo + 1
			}
			if mc > 0 && pl.big != nil {
				if err := pl.big.inverse(s, p, sv, sb+2*mlo, nr, mc, rowLen/2, frames, 1, fbT, 0, scale); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
			} else if mc > 0 {
				nframes := nr * mc
				units := nframes
				if odd {
					units = ceilDiv(nframes, 2)
				}
				pp := fftPush{nfft: uint32(n), hop: uint32(hop), frames: uint32(mc), nframes: uint32(nframes), flags: flags,
					xBase: uint32(sb + 2*mlo), oBase: 0, F: uint32(f), sB: uint32(rowLen / 2), sF: uint32(frames), sM: 1, scale: scale}
				if err := fftDispatch(s, k, sh, pl.pl, pp, units, sv, pl.tab, fbT); err != nil {
					return fmt.Errorf("%s: %w", op, err)
				}
			}
			nq := q1 - q0
			yv, yb, err := bindSpan("stft", y, (r0)*yStride+i0+(q0-p0), (nr-1)*yStride+nq, limit)
			if err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			groups, err := group1D(d, nr*ceilDiv(nq, olaSPI), 64)
			if err != nil {
				return err
			}
			push := gpu.Push(uint32(n), uint32(hop), uint32(frames), uint32(mlo), uint32(max(mc, 1)), uint32(nr), uint32(nq),
				uint32(q0), uint32(total), uint32(0), uint32(yb), uint32(yStride), uint32(0))
			if err := s.Dispatch(ola, groups, push, fbT, pl.ola, yv); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
			q0 = q1
		}
	}
	return nil
}

// STFT records torch.stft of x [B, L] into out [B, F, frames, 2] (see STFTPlan.Forward): a
// convenience for one call, whose plan tables are uploaded into temporaries of s on every call
// (freed when the submission completes). Calls that repeat should keep an STFTPlan. x is not
// modified.
func STFT(s *gpu.Stream, out, x *gpu.Tensor, opt STFTOptions) error {
	if s == nil {
		return shapeErr("stft", "stream is nil")
	}
	p, err := tempPlan(s, opt)
	if err != nil {
		return err
	}
	return p.Forward(s, out, x)
}

// ISTFT records torch.istft of spec [B, F, frames, 2] into out [B, ISTFTShape(frames, opt)] (see
// STFTPlan.Inverse; opt.Length is torch's length), with plan tables in temporaries of s as STFT.
// spec is not modified.
func ISTFT(s *gpu.Stream, out, spec *gpu.Tensor, opt STFTOptions) error {
	if s == nil {
		return shapeErr("istft", "stream is nil")
	}
	p, err := tempPlan(s, opt)
	if err != nil {
		return err
	}
	return p.Inverse(s, out, spec)
}

// ISTFTShape returns the length of ISTFT's output for a spectrum of the given frame count.
func ISTFTShape(frames int, opt STFTOptions) (int, error) {
	p, err := resolveSTFT("istft", opt)
	if err != nil {
		return 0, err
	}
	if frames < 1 {
		return 0, shapeErr("istft", "frames = %d, want >= 1", frames)
	}
	return p.sp.ISTFTLength(frames), nil
}
