// Package stftfixture reads testdata/stft_fixtures.safetensors, the windows, mel filterbanks and
// torch.stft / torch.istft outputs that testdata/make_stft_fixtures.py made with PyTorch and
// torchaudio, for the tests of ops and reference (which check themselves against it without
// needing torch).
package stftfixture

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/vkseq/vkseq/stftopt"
	"github.com/vkseq/vkseq/tensorio"
)

// Window is torch.hann_window(N, periodic=Periodic).
type Window struct {
	Name     string `json:"name"`
	N        int    `json:"n"`
	Periodic bool   `json:"periodic"`
	Values   []float32
}

// FBank is torchaudio.functional.melscale_fbanks with these arguments: Values [NFreqs, NMels].
type FBank struct {
	Name       string  `json:"name"`
	NFreqs     int     `json:"n_freqs"`
	FMin       float64 `json:"f_min"`
	FMax       float64 `json:"f_max"`
	NMels      int     `json:"n_mels"`
	SampleRate int     `json:"sample_rate"`
	Norm       string  `json:"norm"`
	MelScale   string  `json:"mel_scale"`
	Values     []float32
}

// Case is one torch.stft call on the first Batch rows and Length samples of the fixture's x, and
// optionally torch.istft of its output (or of a random spectrum).
type Case struct {
	Name       string `json:"name"`
	Batch      int    `json:"batch"`
	Length     int    `json:"length"`
	NFFT       int    `json:"n_fft"`
	HopLength  int    `json:"hop_length"`
	WinLength  int    `json:"win_length"`
	Window     string `json:"window"`
	Center     bool   `json:"center"`
	PadMode    string `json:"pad_mode"`
	Normalized bool   `json:"normalized"`
	Onesided   bool   `json:"onesided"`
	// ISTFTLength is torch.istft's length (0: None); nil when the case has no iSTFT.
	ISTFTLength *int `json:"istft_length"`
	// ISTFTRandomSpec: the iSTFT inverts ISTFTSpec, a random spectrum, instead of STFT.
	ISTFTRandomSpec bool `json:"istft_random_spec"`

	X         []float32 // [Batch, Length]
	STFT      []float32 // [Batch, F, frames, 2]
	Freqs     int
	Frames    int
	ISTFTSpec []float32 // [Batch, F, frames, 2] when ISTFTRandomSpec
	ISTFT     []float32 // [Batch, n]
	ISTFTN    int
}

// Options returns the case's options (window "hann" is the periodic Hann, "none" ones).
func (c Case) Options() stftopt.Options {
	kind := c.Window
	if kind == "none" {
		kind = "ones"
	}
	o := stftopt.Options{NFFT: c.NFFT, HopLength: c.HopLength, WinLength: c.WinLength, WindowKind: kind,
		Center: c.Center, PadMode: c.PadMode, Normalized: c.Normalized, Onesided: c.Onesided}
	if c.ISTFTLength != nil {
		o.Length = *c.ISTFTLength
	}
	return o
}

// Fixture is the whole file.
type Fixture struct {
	Windows []Window
	FBanks  []FBank
	Cases   []Case
}

// Path is the fixture file's path (testdata/ at the module root).
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "stft_fixtures.safetensors")
}

// Load reads the fixture.
func Load() (*Fixture, error) {
	f, err := tensorio.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	md := f.Metadata()
	var fx Fixture
	for key, dst := range map[string]any{"windows": &fx.Windows, "fbanks": &fx.FBanks, "cases": &fx.Cases} {
		if err := json.Unmarshal([]byte(md[key]), dst); err != nil {
			return nil, fmt.Errorf("stftfixture: metadata %q: %w", key, err)
		}
	}
	for i := range fx.Windows {
		w := &fx.Windows[i]
		if w.Values, err = f.Float32(w.Name, w.N); err != nil {
			return nil, err
		}
	}
	for i := range fx.FBanks {
		b := &fx.FBanks[i]
		if b.Values, err = f.Float32(b.Name, b.NFreqs, b.NMels); err != nil {
			return nil, err
		}
	}
	x, err := f.Float32("x", tensorio.Any, tensorio.Any)
	if err != nil {
		return nil, err
	}
	xs, _ := f.Shape("x")
	for i := range fx.Cases {
		c := &fx.Cases[i]
		if c.Batch > xs[0] || c.Length > xs[1] {
			return nil, fmt.Errorf("stftfixture: case %s reads [%d, %d] of x %v", c.Name, c.Batch, c.Length, xs)
		}
		for b := 0; b < c.Batch; b++ {
			c.X = append(c.X, x[b*xs[1]:b*xs[1]+c.Length]...)
		}
		if c.STFT, err = f.Float32(c.Name+"_stft", c.Batch, tensorio.Any, tensorio.Any, 2); err != nil {
			return nil, err
		}
		ss, _ := f.Shape(c.Name + "_stft")
		c.Freqs, c.Frames = ss[1], ss[2]
		if c.ISTFTLength == nil {
			continue
		}
		if c.ISTFTRandomSpec {
			if c.ISTFTSpec, err = f.Float32(c.Name+"_istft_spec", ss...); err != nil {
				return nil, err
			}
		} else {
			c.ISTFTSpec = c.STFT
		}
		if c.ISTFT, err = f.Float32(c.Name+"_istft", c.Batch, tensorio.Any); err != nil {
			return nil, err
		}
		ys, _ := f.Shape(c.Name + "_istft")
		c.ISTFTN = ys[1]
	}
	return &fx, nil
}
