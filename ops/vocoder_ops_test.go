package ops

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestLayerNorm(t *testing.T) {
	d := device(t)
	r := newRand(t)
	// C a multiple of 4: layernorm_t on CPU devices (checked also in place and with the plain kernel)
	for _, rc := range [][2]int{{1, 1}, {3, 5}, {7, 100}, {300, 129}, {2, 4096}, {1, 4}, {94, 512}, {5, 36}} {
		R, C := rc[0], rc[1]
		for _, shift := range []float64{0, 1e3} { // a large mean tests the centred variance
			x := randn(r, R*C, 1)
			for i := range x {
				x[i] += shift
			}
			x = rounded(x)
			w, b := rounded(randn(r, C, 1)), rounded(randn(r, C, 1))
			t.Run(fmt.Sprintf("%dx%d_shift%g", R, C, shift), func(t *testing.T) {
				xt := upload(t, d, gpu.F32, x, R, C)
				wt, bt := upload(t, d, gpu.F32, w, C), upload(t, d, gpu.F32, b, C)
				out, plain := poisoned(t, d, gpu.F32, R, C), poisoned(t, d, gpu.F32, R, C)
				s := stream(t, d)
				if err := LayerNorm(s, out, xt, wt, bt, 1e-6); err != nil {
					t.Fatal(err)
				}
				if err := LayerNorm(s, plain, xt, nil, nil, 1e-5); err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				want, _ := reference.LayerNorm(x, w, b, R, C, 1e-6)
				wantPlain, _ := reference.LayerNorm(x, nil, nil, R, C, 1e-5)
				tol := tolF32 // also for rows far from 0: the kernel sums x − x0 and keeps the mean split
				checkErr(t, "layernorm", read(t, out), want, tol)
				checkErr(t, "layernorm without affine", read(t, plain), wantPlain, tol)
				// In place, and with the plain kernel where layernorm_t would run.
				inPlace, plainK := upload(t, d, gpu.F32, x, R, C), poisoned(t, d, gpu.F32, R, C)
				if err := LayerNorm(s, inPlace, inPlace, wt, bt, 1e-6); err != nil {
					t.Fatal(err)
				}
				lnTexel = false
				err := LayerNorm(s, plainK, xt, wt, bt, 1e-6)
				lnTexel = true
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				checkErr(t, "layernorm in place", read(t, inPlace), want, tol)
				checkErr(t, "layernorm, plain kernel", read(t, plainK), want, tol)
			})
		}
	}
	s := stream(t, d)
	x := upload(t, d, gpu.F32, []float64{1, 2}, 1, 2)
	w := upload(t, d, gpu.F32, []float64{1, 2}, 2)
	for _, err := range []error{
		LayerNorm(s, x, x, w, nil, 1e-5),
		LayerNorm(s, x, x, nil, nil, float32(math.NaN())),
		LayerNorm(s, w, x, nil, nil, 1e-5),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("bad LayerNorm arguments: err = %v, want ErrInvalidArgument", err)
		}
	}
}

// TestBiasEpilogues checks AddBias (with and without GELU) and ScaleResidual against float64 sums,
// through bias_t (CPU devices, C % 4 == 0) and the plain kernel, out apart from and aliasing res.
func TestBiasEpilogues(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, c := range []struct {
		R, C     int
		tex, nob bool
	}{{37, 65, true, false}, {37, 64, true, false}, {5, 512, true, true}, {37, 64, false, false}, {3, 8, false, true}} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			biasTexel = c.tex
			t.Cleanup(func() { biasTexel = true })
			R, C := c.R, c.C
			x, res := rounded(randn(r, R*C, 3)), rounded(randn(r, R*C, 1))
			b, g := rounded(randn(r, C, 1)), rounded(randn(r, C, 1))
			if c.nob {
				b = make([]float64, C)
			}
			xt, rt := upload(t, d, gpu.F32, x, R, C), upload(t, d, gpu.F32, res, R, C)
			var bt *gpu.Tensor
			if !c.nob {
				bt = upload(t, d, gpu.F32, b, C)
			}
			gt := upload(t, d, gpu.F32, g, C)
			add, gelu, sr := poisoned(t, d, gpu.F32, R, C), poisoned(t, d, gpu.F32, R, C), poisoned(t, d, gpu.F32, R, C)
			inPlace := upload(t, d, gpu.F32, res, R, C) // ScaleResidual with out = res
			s := stream(t, d)
			for _, err := range []error{AddBias(s, add, xt, bt, false), AddBias(s, gelu, xt, bt, true), ScaleResidual(s, sr, rt, xt, bt, gt),
				ScaleResidual(s, inPlace, inPlace, xt, bt, gt)} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			wantAdd, wantGELU, wantSR := make([]float64, R*C), make([]float64, R*C), make([]float64, R*C)
			for i := range x {
				c := i % C
				wantAdd[i] = x[i] + b[c]
				wantGELU[i] = reference.GELU1(x[i] + b[c])
				wantSR[i] = res[i] + g[c]*(x[i]+b[c])
			}
			checkErr(t, "add_bias", read(t, add), wantAdd, tolF32)
			checkErr(t, "add_bias gelu", read(t, gelu), wantGELU, tolF32)
			checkErr(t, "scale_residual", read(t, sr), wantSR, tolF32)
			checkErr(t, "scale_residual in place", read(t, inPlace), wantSR, tolF32)
			checkErr(t, "x (unchanged)", read(t, xt), x, 0)
		})
	}
}

func TestConv1D(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, c := range []struct{ B, Cin, L, Cout, K, pad int }{
		{1, 1, 1, 1, 1, 0}, {2, 3, 9, 5, 7, 3}, {2, 100, 37, 40, 7, 3}, {1, 17, 50, 33, 4, 0}, {3, 5, 4, 19, 9, 4}, {1, 20, 300, 70, 3, 1},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			x := rounded(randn(r, c.B*c.Cin*c.L, 1))
			w := rounded(randn(r, c.Cout*c.Cin*c.K, 1))
			b := rounded(randn(r, c.Cout, 1))
			want, lout, err := reference.Conv1D(x, w, b, c.B, c.Cin, c.L, c.Cout, c.K, c.pad)
			if err != nil {
				t.Fatal(err)
			}
			wantTM := reference.Transpose12(want, c.B, c.Cout, lout)
			xt := upload(t, d, gpu.F32, x, c.B, c.Cin, c.L)
			wt := upload(t, d, gpu.F32, w, c.Cout, c.Cin, c.K)
			bt := upload(t, d, gpu.F32, b, c.Cout)
			cf := poisoned(t, d, gpu.F32, c.B, c.Cout, lout)
			tm := poisoned(t, d, gpu.F32, c.B, lout, c.Cout)
			im := poisoned(t, d, gpu.F32, c.B, lout, c.Cout)
			s := stream(t, d)
			for _, err := range []error{
				Conv1D(s, cf, xt, wt, bt, Conv1DOptions{Padding: c.pad}),
				Conv1D(s, tm, xt, wt, bt, Conv1DOptions{Padding: c.pad, TimeMajor: true}),
				Conv1D(s, im, xt, wt, bt, Conv1DOptions{Padding: c.pad, TimeMajor: true, Im2Col: true}),
			} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "conv1d direct [B,Cout,L]", read(t, cf), want, tolF32)
			checkErr(t, "conv1d direct time-major", read(t, tm), wantTM, tolF32)
			checkErr(t, "conv1d im2col time-major", read(t, im), wantTM, tolF32)
		})
	}
	s := stream(t, d)
	x := upload(t, d, gpu.F32, make([]float64, 6), 1, 2, 3)
	w := upload(t, d, gpu.F32, make([]float64, 2*2*7), 2, 2, 7)
	o := upload(t, d, gpu.F32, make([]float64, 6), 1, 2, 3)
	if err := Conv1D(s, o, x, w, nil, Conv1DOptions{}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("conv1d with L < K and no padding: %v, want ErrInvalidArgument", err)
	}
	if err := Conv1D(s, o, x, w, nil, Conv1DOptions{Padding: 2}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("conv1d with a mis-shaped out: %v, want ErrInvalidArgument", err)
	}
}

func TestDepthwiseConv1D(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, c := range []struct{ B, C, L, K, pad int }{
		{1, 1, 1, 7, 3}, {2, 5, 7, 7, 3}, {2, 64, 300, 7, 3}, {1, 3, 10, 4, 1}, {3, 130, 9, 8, 0}, {1, 2, 5, 1, 0},
		// C a multiple of 4: dwconv_t on CPU devices (channels last), Lout not a multiple of its 4 outputs
		{1, 8, 1, 7, 3}, {2, 12, 10, 4, 1}, {1, 4, 5, 1, 0}, {2, 16, 9, 8, 0}, {1, 512, 94, 7, 3},
		// dwconv_t's run-time tap loop (K > dwMaxFixedK)
		{2, 8, 20, 11, 5}, {1, 4, 3, 9, 4},
	} {
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			x := rounded(randn(r, c.B*c.C*c.L, 1))
			w := rounded(randn(r, c.C*c.K, 1))
			b := rounded(randn(r, c.C, 1))
			want, lout, err := reference.DepthwiseConv1D(x, w, b, c.B, c.C, c.L, c.K, c.pad)
			if err != nil {
				t.Fatal(err)
			}
			xt := upload(t, d, gpu.F32, x, c.B, c.C, c.L)
			xl := upload(t, d, gpu.F32, reference.Transpose12(x, c.B, c.C, c.L), c.B, c.L, c.C)
			wt := upload(t, d, gpu.F32, w, c.C, c.K)
			bt := upload(t, d, gpu.F32, b, c.C)
			cf := poisoned(t, d, gpu.F32, c.B, c.C, lout)
			cl := poisoned(t, d, gpu.F32, c.B, lout, c.C)
			s := stream(t, d)
			if err := DepthwiseConv1D(s, cf, xt, wt, bt, DepthwiseConv1DOptions{Padding: c.pad}); err != nil {
				t.Fatal(err)
			}
			if err := DepthwiseConv1D(s, cl, xl, wt, bt, DepthwiseConv1DOptions{Padding: c.pad, ChannelsLast: true}); err != nil {
				t.Fatal(err)
			}
			// Channels last again with the plain kernel (dwTexel off), and without bias.
			cp := poisoned(t, d, gpu.F32, c.B, lout, c.C)
			nb := poisoned(t, d, gpu.F32, c.B, lout, c.C)
			dwTexel = false
			err = DepthwiseConv1D(s, cp, xl, wt, bt, DepthwiseConv1DOptions{Padding: c.pad, ChannelsLast: true})
			dwTexel = true
			if err != nil {
				t.Fatal(err)
			}
			if err := DepthwiseConv1D(s, nb, xl, wt, nil, DepthwiseConv1DOptions{Padding: c.pad, ChannelsLast: true}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			checkErr(t, "depthwise [B,C,L]", read(t, cf), want, tolF32)
			wantL := reference.Transpose12(want, c.B, c.C, lout)
			checkErr(t, "depthwise [B,L,C]", read(t, cl), wantL, tolF32)
			checkErr(t, "depthwise [B,L,C] plain kernel", read(t, cp), wantL, tolF32)
			noBias, _, err := reference.DepthwiseConv1D(x, w, nil, c.B, c.C, c.L, c.K, c.pad)
			if err != nil {
				t.Fatal(err)
			}
			checkErr(t, "depthwise [B,L,C] without bias", read(t, nb), reference.Transpose12(noBias, c.B, c.C, lout), tolF32)
		})
	}
}

// TestPolarOverlapAdd checks Polar, an irfft and OverlapAdd together against reference.ISTFT
// (torch.istft with center), and a window of positions against the full signal.
func TestPolarOverlapAdd(t *testing.T) {
	d := device(t)
	r := newRand(t)
	const n, hop, B = 16, 4, 2
	for _, frames := range []int{1, 5, 33} {
		t.Run(fmt.Sprint(frames), func(t *testing.T) {
			f := n/2 + 1
			x := randn(r, B*frames*2*f, 1)
			for i := range x {
				if (i/f)%2 == 0 {
					x[i] = x[i]*3 + 2 // log-magnitudes, some above ln(100): clipped
				}
			}
			x = rounded(x)
			spec := make([]float64, B*f*frames*2) // [B, F, frames, 2] for the reference
			for b := range B {
				for m := range frames {
					for k := range f {
						row := x[(b*frames+m)*2*f:]
						mag := math.Min(math.Exp(row[k]), 100)
						spec[((b*f+k)*frames+m)*2] = mag * math.Cos(row[f+k])
						spec[((b*f+k)*frames+m)*2+1] = mag * math.Sin(row[f+k])
					}
				}
			}
			opt := reference.DefaultSTFTOptions(n)
			opt.HopLength = hop
			want, outLen, err := reference.ISTFT(spec, B, f, frames, opt)
			if err != nil {
				t.Fatal(err)
			}
			win, _ := reference.HannWindow(n, true)
			xt := upload(t, d, gpu.F32, x, B*frames, 2*f)
			wt := upload(t, d, gpu.F32, win, n)
			cs := poisoned(t, d, gpu.F32, B*frames, f, 2)
			fr := poisoned(t, d, gpu.F32, B*frames, n)
			total := n + hop*(frames-1)
			pad := (n - hop) / 2 // Vocos's "same" padding keeps [pad, total−pad)
			full := poisoned(t, d, gpu.F32, B, total-2*pad)
			y := poisoned(t, d, gpu.F32, B, max(outLen, 1))
			plan, err := NewRFFTPlan(d, n)
			if err != nil {
				t.Fatal(err)
			}
			defer plan.Close()
			s := stream(t, d)
			fr3, _ := fr.Reshape(B, frames, n)
			for _, err := range []error{Polar(s, cs, xt, 100), plan.Inverse(s, fr, cs)} {
				if err != nil {
					t.Fatal(err)
				}
			}
			if outLen > 0 {
				if err := OverlapAdd(s, y, fr3, wt, outLen, win, OverlapAddOptions{Hop: hop, Frames: frames, Start: n / 2}); err != nil {
					t.Fatal(err)
				}
			}
			if err := OverlapAdd(s, full, fr3, wt, total-2*pad, win, OverlapAddOptions{Hop: hop, Frames: frames, Start: pad}); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			if outLen > 0 {
				checkErr(t, "polar+irfft+ola vs istft(center)", read(t, y)[:B*outLen], want, tolF32)
			}
			// The "same" signal at positions ≥ n/2 equals the centred one shifted by n/2 − pad.
			got := read(t, full)
			sh := n/2 - pad
			for b := range B {
				for i := range outLen {
					g, w := float64(got[b*(total-2*pad)+sh+i]), want[b*outLen+i]
					if math.Abs(g-w) > 1e-4*(1+math.Abs(w)) {
						t.Fatalf("same padding row %d sample %d: %v, want %v", b, i, g, w)
					}
				}
			}
		})
	}
}

// TestLayerNormGPUTiles runs LayerNorm with a GPU's workgroup (256 invocations per row, tuning.go)
// on this device.
func TestLayerNormGPUTiles(t *testing.T) {
	d := device(t)
	gpuTilesOnCPU = true
	t.Cleanup(func() { gpuTilesOnCPU = false })
	r := newRand(t)
	for _, rc := range [][2]int{{3, 5}, {7, 300}, {2, 4099}} {
		R, C := rc[0], rc[1]
		x, w, b := rounded(randn(r, R*C, 1)), rounded(randn(r, C, 1)), rounded(randn(r, C, 1))
		out := poisoned(t, d, gpu.F32, R, C)
		s := stream(t, d)
		if err := LayerNorm(s, out, upload(t, d, gpu.F32, x, R, C), upload(t, d, gpu.F32, w, C), upload(t, d, gpu.F32, b, C), 1e-6); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		want, _ := reference.LayerNorm(x, w, b, R, C, 1e-6)
		checkErr(t, fmt.Sprintf("layernorm %dx%d with GPU tiles", R, C), read(t, out), want, tolF32)
	}
}
