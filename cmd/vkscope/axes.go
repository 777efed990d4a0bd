package main

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// HTK mel scale, as the filterbank (ops.MelFBanks with "htk").
func hzToMel(f float64) float64 { return 2595 * math.Log10(1+f/700) }
func melToHz(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }

// melCentres are the centre frequencies of the mels bands from 0 Hz to the Nyquist frequency.
func melCentres(sampleRate, mels int) []float64 {
	top := hzToMel(float64(sampleRate) / 2)
	out := make([]float64, mels)
	for j := range out {
		out[j] = melToHz(top * float64(j+1) / float64(mels+1))
	}
	return out
}

// melBinOf is the (fractional) band index whose centre is at f Hz.
func melBinOf(f float64, sampleRate, mels int) float64 {
	return hzToMel(f)/hzToMel(float64(sampleRate)/2)*float64(mels+1) - 1
}

// plotRow is the image row that shows band position b (fractional), in a plot ph rows high.
func plotRow(b float64, mels, ph int) int {
	return ph - 1 - int(math.Floor((b+0.5)*float64(ph)/float64(mels)))
}

// axesOverlay draws the axes into a [height, width] overlay (0: transparent, else 0xRRGGBB|1<<24):
// the frequency axis on the left with ticks and labels at round frequencies, and the time axis at
// the bottom in seconds before now (the plot's right edge), so neither moves as the plot scrolls.
func axesOverlay(cfg scopeConfig, cols, width, height int) []int32 {
	im := image.NewRGBA(image.Rect(0, 0, width, height))
	fg := color.RGBA{R: axisColour >> 16 & 0xff, G: axisColour >> 8 & 0xff, B: axisColour & 0xff, A: 0xff}
	ph, pw := height-marginBottom, width-marginLeft
	for y := 0; y <= ph && y < height; y++ {
		im.Set(marginLeft-1, y, fg)
	}
	for x := marginLeft - 1; x < width; x++ {
		im.Set(x, ph, fg)
	}
	d := &font.Drawer{Dst: im, Src: image.NewUniform(fg), Face: basicfont.Face7x13}
	label := func(s string, x, baseline int) {
		d.Dot = fixed.P(x, baseline)
		d.DrawString(s)
	}
	lastY := math.MaxInt
	for _, f := range []float64{100, 250, 500, 1000, 2000, 4000, 8000, 16000} {
		if f >= float64(cfg.SampleRate)/2 {
			break
		}
		y := plotRow(melBinOf(f, cfg.SampleRate, cfg.Mels), cfg.Mels, ph)
		if y < 0 || y >= ph || lastY-y < 14 {
			continue
		}
		lastY = y
		for x := marginLeft - 5; x < marginLeft-1; x++ {
			im.Set(x, y, fg)
		}
		s := fmt.Sprintf("%g", f)
		if f >= 1000 {
			s = fmt.Sprintf("%gk", f/1000)
		}
		label(s, marginLeft-6-7*len(s), min(max(y+4, 10), ph-2))
	}
	secs := float64(cols) * float64(cfg.Hop) / float64(cfg.SampleRate)
	step := 1.0
	if pw < int(secs)*30 {
		step = math.Ceil(secs * 30 / float64(pw))
	}
	for t := 0.0; t <= secs; t += step {
		x := marginLeft + pw - 1 - int(math.Round(t/secs*float64(pw)))
		if x < marginLeft {
			break
		}
		for y := ph + 1; y < ph+4 && y < height; y++ {
			im.Set(x, y, fg)
		}
		s := fmt.Sprintf("-%gs", t)
		if t == 0 {
			s = "0s"
		}
		label(s, min(x-7*len(s)/2, width-7*len(s)), height-2)
	}
	out := make([]int32, width*height)
	for i := range out {
		p := im.Pix[4*i : 4*i+4]
		if p[3] >= 0x80 {
			out[i] = int32(1<<24 | uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2]))
		}
	}
	return out
}
