package ops

import (
	"math"

	"github.com/vkseq/vkseq/gpu"
)

const polarName = "polar"

// Polar records the complex spectrum of a vocoder head's output: x [R, C] (F32, C ≥ 2F) holds F
// log-magnitudes then F phases at the start of each row (the rest of a row, padding, is not read);
// out [R, F, 2] (re, im) gets mag·(cos φ, sin φ) with mag = min(exp(x[r, f]), clip) (Vocos's
// ISTFTHead: clip 100). clip must be > 0 (+Inf: no clip).
func Polar(s *gpu.Stream, out, x *gpu.Tensor, clip float32) error {
	if s == nil {
		return shapeErr(polarName, "stream is nil")
	}
	if x == nil || len(x.Shape()) != 2 {
		return shapeErr(polarName, "x has shape %v, want [R, C ≥ 2F]", shapeOf(x))
	}
	if out == nil || len(out.Shape()) != 3 {
		return shapeErr(polarName, "out has shape %v, want [R, F, 2]", shapeOf(out))
	}
	r, c, f := x.Shape()[0], x.Shape()[1], out.Shape()[1]
	if err := checkTensor(polarName, "x", x, gpu.F32, r, c); err != nil {
		return err
	}
	if err := checkTensor(polarName, "out", out, gpu.F32, r, f, 2); err != nil {
		return err
	}
	if c < 2*f {
		return shapeErr(polarName, "x has %d columns, want ≥ 2F = %d", c, 2*f)
	}
	if !(clip > 0) {
		return shapeErr(polarName, "clip = %v, want > 0", clip)
	}
	if r*f == 0 {
		return nil
	}
	d := s.Device()
	k, err := kernel(d, polarName, []gpu.Access{gpu.Read, gpu.Write}, 16, eltLocal, 1)
	if err != nil {
		return err
	}
	groups, err := group1D(d, r*f, eltLocal)
	if err != nil {
		return err
	}
	return s.Dispatch(k, groups, gpu.Push(uint32(r), uint32(f), clip, uint32(c)), x, out)
}

// OverlapAddOptions place an OverlapAdd: the signal has Frames frames in all (frame m starting at
// padded position m·Hop); the frames tensor holds frames [FirstFrame, FirstFrame + mc); the output
// holds padded positions [Start, Start + cnt) at y[r, Offset:].
type OverlapAddOptions struct {
	Hop        int
	Frames     int
	FirstFrame int
	Start      int
	Offset     int
}

const olaName = "overlap_add"

// OverlapAdd records the windowed overlap-add of an inverse STFT with the squared-window
// envelope, as torch.istft (and Vocos's ISTFT) after the inverse FFT: for padded position
// pos = Start + i, i < cnt,
//
//	out[r, Offset + i] = Σ_m window[pos − m·Hop] · frames[r, m − FirstFrame, pos − m·Hop] / Σ_m window[pos − m·Hop]²
//
// over the frames m < Frames with 0 ≤ pos − m·Hop < n. frames [R, mc, n] are the unwindowed
// inverse FFTs, window [n], out [R, Y] with Offset + cnt ≤ Y. Every frame covering an output
// position must be held in frames, and the envelope must be at least 1e-11 there (checked on the
// host, as torch's NOLA check). All F32; frames is not modified.
func OverlapAdd(s *gpu.Stream, out, frames, window *gpu.Tensor, cnt int, window64 []float64, opt OverlapAddOptions) error {
	if s == nil {
		return shapeErr(olaName, "stream is nil")
	}
	if frames == nil || len(frames.Shape()) != 3 {
		return shapeErr(olaName, "frames has shape %v, want [R, mc, n]", shapeOf(frames))
	}
	fs := frames.Shape()
	r, mc, n := fs[0], fs[1], fs[2]
	if err := checkTensor(olaName, "frames", frames, gpu.F32, fs...); err != nil {
		return err
	}
	if err := checkTensor(olaName, "window", window, gpu.F32, n); err != nil {
		return err
	}
	if len(window64) != n {
		return shapeErr(olaName, "host window has %d values, want n = %d", len(window64), n)
	}
	if out == nil || len(out.Shape()) != 2 || out.Shape()[0] != r || opt.Offset < 0 || opt.Offset+cnt > out.Shape()[1] {
		return shapeErr(olaName, "out has shape %v, want [%d, ≥ %d]", shapeOf(out), r, opt.Offset+cnt)
	}
	if err := checkTensor(olaName, "out", out, gpu.F32, out.Shape()...); err != nil {
		return err
	}
	if opt.Hop < 1 || opt.Frames < 1 || opt.Start < 0 || cnt < 0 || opt.FirstFrame < 0 {
		return shapeErr(olaName, "hop %d, frames %d, start %d, count %d, first frame %d: want hop, frames ≥ 1 and the rest ≥ 0", opt.Hop, opt.Frames, opt.Start, cnt, opt.FirstFrame)
	}
	if cnt == 0 || r == 0 {
		return nil
	}
	// Frames needed: those covering [Start, Start+cnt).
	end := opt.Start + cnt - 1
	lo := 0
	if opt.Start >= n {
		lo = (opt.Start-n)/opt.Hop + 1
	}
	hi := min(end/opt.Hop, opt.Frames-1)
	if lo < opt.FirstFrame || hi >= opt.FirstFrame+mc || end >= n+opt.Hop*(opt.Frames-1) {
		return shapeErr(olaName, "positions [%d, %d] need frames %d..%d of %d; frames holds %d..%d", opt.Start, end, lo, hi, opt.Frames, opt.FirstFrame, opt.FirstFrame+mc-1)
	}
	if err := checkEnvelope(window64, opt.Hop, opt.Frames, opt.Start, cnt); err != nil {
		return err
	}
	d := s.Device()
	k, err := kernel(d, "ola", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 40, eltLocal)
	if err != nil {
		return err
	}
	groups, err := group1D(d, r*cnt, eltLocal)
	if err != nil {
		return err
	}
	return s.Dispatch(k, groups, gpu.Push(uint32(n), uint32(opt.Hop), uint32(opt.Frames), uint32(opt.FirstFrame), uint32(mc),
		uint32(r), uint32(cnt), uint32(opt.Start), uint32(out.Shape()[1]), uint32(opt.Offset)), frames, window, out)
}

// checkEnvelope checks Σ_m w[pos − m·hop]² ≥ 1e-11 at positions [start, start+cnt) of a signal of
// the given frame count: positions within n of either end one by one, the periodic interior once.
func checkEnvelope(w []float64, hop, frames, start, cnt int) error {
	n := len(w)
	env := func(pos int) float64 {
		lo := 0
		if pos >= n {
			lo = (pos-n)/hop + 1
		}
		hi := min(pos/hop, frames-1)
		e := 0.0
		for m := lo; m <= hi; m++ {
			v := w[pos-m*hop]
			e += v * v
		}
		return e
	}
	iLo, iHi := n, hop*(frames-1) // positions whose covering frames all exist and are interior
	for pos := start; pos < start+cnt; pos++ {
		if pos >= iLo+hop && pos < iHi {
			pos = iHi - 1
			continue
		}
		if e := env(pos); !(e >= 1e-11) || math.IsNaN(e) {
			return shapeErr(olaName, "window overlap-add envelope is %.3g at padded position %d (want ≥ 1e-11): the window and hop %d fail NOLA", e, pos, hop)
		}
	}
	return nil
}
