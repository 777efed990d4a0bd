// Package wavio reads and writes WAV files for the command-line tools (vkbench vocode, vkscope),
// through the go-audio decoder and encoder.
package wavio

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"
)

// Audio is a decoded WAV file: Samples are interleaved frames of Channels values in [−1, 1]
// (len(Samples) = frames · Channels), at Rate samples per second per channel.
type Audio struct {
	Samples  []float32
	Channels int
	Rate     int
}

// Frames is the number of samples per channel.
func (a Audio) Frames() int { return len(a.Samples) / a.Channels }

// Channel returns channel c (0-based) as its own slice of Frames() samples.
func (a Audio) Channel(c int) []float32 {
	out := make([]float32, a.Frames())
	for i := range out {
		out[i] = a.Samples[i*a.Channels+c]
	}
	return out
}

// Read decodes a WAV file of integer PCM (8 to 32 bits; 8-bit is unsigned) or 32-bit float
// samples. It refuses a file that is not WAV, another sample format, no samples, and NaN or
// infinite float samples, naming the file in each error.
func Read(path string) (Audio, error) {
	f, err := os.Open(path)
	if err != nil {
		return Audio{}, err
	}
	defer f.Close()
	dec := wav.NewDecoder(f)
	if !dec.IsValidFile() {
		return Audio{}, fmt.Errorf("%s: not a valid WAV file", path)
	}
	buf, err := dec.FullPCMBuffer()
	if err != nil {
		return Audio{}, fmt.Errorf("%s: %w", path, err)
	}
	ch := buf.Format.NumChannels
	bits := int(dec.BitDepth)
	isFloat := dec.WavAudioFormat == 3
	if isFloat && bits != 32 || !isFloat && (dec.WavAudioFormat != 1 || bits < 8 || bits > 32) {
		return Audio{}, fmt.Errorf("%s: WAV format %d with %d bits, want PCM (8 to 32 bits) or 32-bit float", path, dec.WavAudioFormat, bits)
	}
	if ch < 1 {
		return Audio{}, fmt.Errorf("%s: %d channels, want at least 1", path, ch)
	}
	if len(buf.Data) < ch {
		return Audio{}, fmt.Errorf("%s: no audio samples", path)
	}
	out := make([]float32, len(buf.Data)/ch*ch)
	scale := 1 / math.Pow(2, float64(bits-1))
	for i := range out {
		s := buf.Data[i]
		switch {
		case isFloat:
			out[i] = math.Float32frombits(uint32(int32(s)))
		case bits == 8:
			out[i] = float32(float64(s-128) * scale)
		default:
			out[i] = float32(float64(s) * scale)
		}
		if math.IsNaN(float64(out[i])) || math.IsInf(float64(out[i]), 0) {
			return Audio{}, fmt.Errorf("%s: sample %d is %v", path, i, out[i])
		}
	}
	return Audio{Samples: out, Channels: ch, Rate: buf.Format.SampleRate}, nil
}

// WriteMono16 writes samples as mono 16-bit PCM at rate Hz, clipping them to [−1, 1].
func WriteMono16(path string, samples []float32, rate int) (err error) {
	if rate <= 0 {
		return fmt.Errorf("%s: sample rate %d, want > 0", path, rate)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	data := make([]int, len(samples))
	for i, s := range samples {
		data[i] = int(math.Round(math.Max(-1, math.Min(1, float64(s))) * 32767))
	}
	enc := wav.NewEncoder(f, rate, 16, 1, 1)
	if err := enc.Write(&audio.IntBuffer{Data: data, Format: &audio.Format{NumChannels: 1, SampleRate: rate}, SourceBitDepth: 16}); err != nil {
		return err
	}
	return enc.Close()
}
