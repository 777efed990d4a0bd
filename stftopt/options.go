// Package stftopt holds the options of torch.stft / torch.istft and their resolution (defaults,
// validation, frame counts), shared by ops (the GPU STFT) and reference (the float64 oracle) so
// that both read the same parameters the same way. It computes no window, filterbank or transform:
// each side derives those from the resolved parameters with its own code, so one can check the
// other (and both are checked against PyTorch's numbers in testdata/stft_fixtures.safetensors).
//
// Errors are plain messages naming the parameter (n_fft, hop_length, win_length, window,
// pad_mode, length); ops wraps them in ops.ErrInvalidArgument, reference prefixes them with its name.
package stftopt

import (
	"fmt"
	"math"
)

// Options are the parameters of STFT and ISTFT, named after torch.stft / torch.istft. The zero
// value of a field means the default given here; note that the Go zero value of Center and
// Onesided is false (torch defaults to true for both): Default gives torch's defaults.
type Options struct {
	// NFFT is the DFT size n_fft (>= 1).
	NFFT int
	// HopLength is the frame step; 0 means NFFT/4 (rounded down, as torch), which is an error
	// when NFFT < 4. Negative is an error.
	HopLength int
	// WinLength is the window length, 1..NFFT; 0 means NFFT. A shorter window is zero-padded to
	// NFFT, (NFFT − WinLength)/2 zeros on the left.
	WinLength int
	// Window, if non-nil, is the window itself ([WinLength] finite values); then WindowKind must
	// be empty.
	Window []float64
	// WindowKind names the window when Window is nil: "" or "hann" (periodic Hann,
	// torch.hann_window(WinLength): 0.5 − 0.5 cos(2πn/WinLength)), or "ones" (rectangular:
	// torch's behaviour for window=None). The default here is Hann, unlike torch's None
	// (docs/design.md §9).
	WindowKind string
	// Center pads NFFT/2 samples on each side of the signal before framing, so that frame m is
	// centred on sample m·HopLength.
	Center bool
	// PadMode is the padding used when Center: "" or "reflect" (mirror without repeating the
	// edge sample, numpy's 'reflect'; it needs NFFT/2 < signal length, as torch), or "constant"
	// (zeros).
	PadMode string
	// Normalized multiplies the STFT by 1/sqrt(NFFT) (ISTFT undoes it).
	Normalized bool
	// Onesided keeps the NFFT/2+1 non-negative frequencies; otherwise all NFFT are returned
	// (STFT) or expected (ISTFT).
	Onesided bool
	// Length (ISTFT only) is the output length: 0 means not given (torch's length=None); a
	// positive value trims the output, or pads it with zeros at the end, to exactly Length
	// samples. Negative is an error.
	Length int
}

// Default returns torch.stft's defaults for a real signal with the Hann window of docs/design.md
// §9: HopLength NFFT/4, WinLength NFFT, periodic Hann, Center true, PadMode "reflect",
// Normalized false, Onesided true.
func Default(nfft int) Options {
	return Options{NFFT: nfft, WindowKind: "hann", Center: true, PadMode: "reflect", Onesided: true}
}

// Window kinds of Params.Kind.
const (
	KindHann  = "hann"  // periodic Hann of length Win
	KindOnes  = "ones"  // rectangular
	KindGiven = "given" // Options.Window
)

// Params are resolved, validated options: every default filled in.
type Params struct {
	NFFT, Hop, Win int
	// Kind is KindHann, KindOnes or KindGiven (then Window holds the [Win] values).
	Kind       string
	Window     []float64
	Center     bool
	Reflect    bool // pad mode reflect (else constant)
	Normalized bool
	Onesided   bool
	Freqs      int // NFFT/2+1 when Onesided, else NFFT
	Length     int // ISTFT's length; 0: not given
}

// Resolve validates o and fills in its defaults. The error names the parameter.
func Resolve(o Options) (Params, error) {
	var p Params
	if o.NFFT < 1 {
		return p, fmt.Errorf("n_fft = %d, want >= 1", o.NFFT)
	}
	p.NFFT = o.NFFT
	switch {
	case o.HopLength < 0:
		return p, fmt.Errorf("hop_length = %d, want > 0 (0 means n_fft/4)", o.HopLength)
	case o.HopLength == 0 && o.NFFT/4 == 0:
		return p, fmt.Errorf("hop_length = 0 defaults to n_fft/4 = 0 for n_fft = %d; want hop_length > 0", o.NFFT)
	case o.HopLength == 0:
		p.Hop = o.NFFT / 4
	default:
		p.Hop = o.HopLength
	}
	p.Win = o.WinLength
	if p.Win == 0 {
		p.Win = o.NFFT
	}
	if p.Win < 1 || p.Win > o.NFFT {
		return p, fmt.Errorf("win_length = %d, want 0 < win_length <= n_fft = %d (0 means n_fft)", o.WinLength, o.NFFT)
	}
	switch {
	case o.Window != nil && o.WindowKind != "":
		return p, fmt.Errorf("window given and window kind %q too; give one", o.WindowKind)
	case o.Window != nil && len(o.Window) != p.Win:
		return p, fmt.Errorf("window has %d values, want win_length = %d", len(o.Window), p.Win)
	case o.Window != nil:
		for i, v := range o.Window {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return p, fmt.Errorf("window[%d] = %v, want finite values", i, v)
			}
		}
		p.Kind, p.Window = KindGiven, o.Window
	case o.WindowKind == "" || o.WindowKind == KindHann:
		p.Kind = KindHann
	case o.WindowKind == KindOnes:
		p.Kind = KindOnes
	default:
		return p, fmt.Errorf("window = %q, want \"hann\" or \"ones\" (or window values)", o.WindowKind)
	}
	switch o.PadMode {
	case "", "reflect":
		p.Reflect = true
	case "constant":
	default:
		return p, fmt.Errorf("pad_mode = %q, want \"reflect\" or \"constant\"", o.PadMode)
	}
	if o.Length < 0 {
		return p, fmt.Errorf("length = %d, want >= 0 (0 means not given)", o.Length)
	}
	p.Length = o.Length
	p.Center, p.Normalized, p.Onesided = o.Center, o.Normalized, o.Onesided
	p.Freqs = p.NFFT
	if p.Onesided {
		p.Freqs = p.NFFT/2 + 1
	}
	return p, nil
}

// Pad is the padding on each side of the signal: NFFT/2 when Center, else 0.
func (p Params) Pad() int {
	if p.Center {
		return p.NFFT / 2
	}
	return 0
}

// Frames returns the frame count of the STFT of a signal of length samples: 1 + (L_pad −
// NFFT)/Hop (rounded down) with L_pad = length + 2·Pad(). The error names length (< 0), pad_mode
// (reflect padding needs NFFT/2 < length) or n_fft (longer than the padded signal).
func (p Params) Frames(length int) (int, error) {
	if length < 0 {
		return 0, fmt.Errorf("length = %d, want >= 0", length)
	}
	pad := p.Pad()
	if p.Center && p.Reflect && pad > 0 && pad >= length {
		return 0, fmt.Errorf("pad_mode reflect pads n_fft/2 = %d samples on each side, which needs a longer signal: length %d, want > %d (or pad_mode constant)", pad, length, pad)
	}
	lpad := length + 2*pad
	if p.NFFT > lpad {
		return 0, fmt.Errorf("n_fft = %d is longer than the padded signal (%d samples)", p.NFFT, lpad)
	}
	return 1 + (lpad-p.NFFT)/p.Hop, nil
}

// ISTFTLength returns the output length of ISTFT for a spectrum of frames >= 1 frames: Length
// when given (> 0), else NFFT + Hop·(frames−1), less 2·(NFFT/2) when Center (at least 0). With
// NFFT = 1, Center and no Length, torch would fail (it slices to an empty signal); here the
// length is frames.
func (p Params) ISTFTLength(frames int) int {
	if p.Length > 0 {
		return p.Length
	}
	n := p.NFFT + p.Hop*(frames-1)
	if p.Center {
		n -= 2 * (p.NFFT / 2)
		if p.NFFT == 1 {
			n = frames
		}
	}
	return max(n, 0)
}

// CheckISTFT checks what torch.istft adds to the STFT's options: Hop <= Win (frames that do not
// overlap leave the window envelope zero between them, failing NOLA).
func (p Params) CheckISTFT() error {
	if p.Hop > p.Win {
		return fmt.Errorf("hop_length = %d, want 0 < hop_length <= win_length = %d (as torch.istft: frames would not overlap, failing NOLA)", p.Hop, p.Win)
	}
	return nil
}
