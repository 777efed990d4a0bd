package suite

import (
	"context"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:      "conv1d",
		Summary:   "dense conv1d, stride 1, zero padding, any kernel size (torch.nn.functional.conv1d; direct kernel or im2col+GEMM, float32)",
		Inputs:    "x [B,Cin,L], weight [Cout,Cin,K], [bias [Cout]]",
		Outputs:   "out [B,Cout,Lout], Lout = L + 2·padding − K + 1",
		ParamsDoc: "padding (default 0); bench: B, Cin, L, Cout, K, padding (default Vocos's embedding: 1×100×938 → 512, K=7, padding 3), variants direct and im2col",
		Verify:    verifyConvDense,
		Bench:     benchConvDense,
		Run:       runConvDense,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 2, 3, 9), ExampleTensor("weight", 0.5, 4, 3, 7), ExampleTensor("bias", 1, 4)}, Params{"padding": "3"}
		},
	})
	Register(Op{
		Name:      "depthwise_conv1d",
		Summary:   "depthwise non-causal conv1d (groups = channels), stride 1, zero padding, any kernel size (Vocos's dwconv, float32)",
		Inputs:    "x [B,C,L], weight [C,1,K] or [C,K], [bias [C]]",
		Outputs:   "out [B,C,Lout], Lout = L + 2·padding − K + 1",
		ParamsDoc: "padding (default 0); bench: B, C, L, K, padding (default Vocos's: 1×512×938, K=7, padding 3, channels last)",
		Verify:    verifyDepthwise,
		Bench:     benchDepthwise,
		Run:       runDepthwise,
		Example: func() ([]tensorio.Tensor, Params) {
			return []tensorio.Tensor{ExampleTensor("x", 1, 2, 3, 9), ExampleTensor("weight", 0.5, 3, 1, 7), ExampleTensor("bias", 1, 3)}, Params{"padding": "3"}
		},
	})
}

type convDenseShape struct{ B, Cin, L, Cout, K, Pad int }

func (c convDenseShape) String() string {
	return fmt.Sprintf("B=%d Cin=%d L=%d Cout=%d K=%d padding=%d", c.B, c.Cin, c.L, c.Cout, c.K, c.Pad)
}

// convDenseRun records Conv1D ([B,Cout,Lout], or [B,Lout,Cout] with im2col, whose GEMM writes
// time-major) or DepthwiseConv1D (channels first) on uploaded tensors and returns out.
func convDenseRun(d *gpu.Device, depthwise, im2col bool, x, w, b []float32, c convDenseShape) ([]float32, error) {
	ts := NewTensors(d)
	defer ts.Close()
	xt, err := ts.UploadF32(x, c.B, c.Cin, c.L)
	if err != nil {
		return nil, err
	}
	wshape := []int{c.Cout, c.Cin, c.K}
	if depthwise {
		wshape = []int{c.Cin, c.K}
	}
	wt, err := ts.UploadF32(w, wshape...)
	if err != nil {
		return nil, err
	}
	var bt *gpu.Tensor
	if b != nil {
		if bt, err = ts.UploadF32(b, c.Cout); err != nil {
			return nil, err
		}
	}
	lout := c.L + 2*c.Pad - c.K + 1
	if lout < 1 {
		return nil, fmt.Errorf("L=%d, padding=%d, K=%d give %d outputs, want ≥ 1", c.L, c.Pad, c.K, lout)
	}
	oshape := []int{c.B, c.Cout, lout}
	if im2col {
		oshape = []int{c.B, lout, c.Cout}
	}
	out, err := ts.Output(gpu.F32, oshape...)
	if err != nil {
		return nil, err
	}
	err = RunStream(d, func(s *gpu.Stream) error {
		if depthwise {
			return ops.DepthwiseConv1D(s, out, xt, wt, bt, ops.DepthwiseConv1DOptions{Padding: c.Pad})
		}
		return ops.Conv1D(s, out, xt, wt, bt, ops.Conv1DOptions{Padding: c.Pad, TimeMajor: im2col, Im2Col: im2col})
	})
	if err != nil {
		return nil, err
	}
	o, err := out.ReadFloat32()
	if err != nil || !im2col {
		return o, err
	}
	return reference.ToFloat32(reference.Transpose12(reference.ToFloat64(o), c.B, lout, c.Cout)), nil
}

func verifyConvDense(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	return verifyConvFamily(ctx, d, false, []convDenseShape{{1, 1, 1, 1, 1, 0}, {2, 3, 9, 5, 7, 3}, {2, 100, 37, 40, 7, 3}, {1, 17, 50, 33, 4, 0}, {3, 5, 4, 19, 9, 4}}, report)
}

func verifyDepthwise(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := []convDenseShape{{1, 1, 1, 1, 7, 3}, {2, 5, 7, 5, 7, 3}, {2, 64, 300, 64, 7, 3}, {1, 3, 10, 3, 4, 1}, {3, 130, 9, 130, 8, 0}}
	if long {
		shapes = append(shapes, convDenseShape{1, 512, 20000, 512, 7, 3})
	}
	return verifyConvFamily(ctx, d, true, shapes, report)
}

func verifyConvFamily(ctx context.Context, d *gpu.Device, depthwise bool, shapes []convDenseShape, report func(VerifyResult)) error {
	r := Rand()
	name := "conv1d"
	if depthwise {
		name = "depthwise_conv1d"
	}
	for _, c := range shapes {
		x := Randn(r, c.B*c.Cin*c.L, 1)
		nw := c.Cout * c.Cin * c.K
		if depthwise {
			nw = c.Cin * c.K
		}
		w, b := Randn(r, nw, 1), Randn(r, c.Cout, 1)
		var want []float64
		var err error
		if depthwise {
			want, _, err = reference.DepthwiseConv1D(x, w, b, c.B, c.Cin, c.L, c.K, c.Pad)
		} else {
			want, _, err = reference.Conv1D(x, w, b, c.B, c.Cin, c.L, c.Cout, c.K, c.Pad)
		}
		variants := []bool{false}
		if !depthwise {
			variants = append(variants, true)
		}
		for _, im := range variants {
			if err := ctx.Err(); err != nil {
				return err
			}
			cs := c.String()
			if im {
				cs += " im2col"
			}
			res := VerifyResult{Op: name, Case: cs, DType: "f32", Tol: 1e-5}
			var got []float32
			if err == nil {
				got, err = convDenseRun(d, depthwise, im, reference.ToFloat32(x), reference.ToFloat32(w), reference.ToFloat32(b), c)
			}
			if err != nil {
				res.Err = err.Error()
			} else {
				res.RelErr = reference.RelErr(got, want)
			}
			report(res)
		}
	}
	return nil
}

func benchConvDense(ctx context.Context, b *Bencher, p Params) error {
	return benchConvFamily(ctx, b, p, false)
}

func benchDepthwise(ctx context.Context, b *Bencher, p Params) error {
	return benchConvFamily(ctx, b, p, true)
}

func benchConvFamily(ctx context.Context, b *Bencher, p Params, depthwise bool) error {
	name := "conv1d"
	keys := []string{"B", "Cin", "L", "Cout", "K", "padding"}
	if depthwise {
		name, keys = "depthwise_conv1d", []string{"B", "C", "L", "K", "padding"}
	}
	if err := p.Check(name, keys...); err != nil {
		return err
	}
	c := convDenseShape{}
	cinKey := "Cin"
	if depthwise {
		cinKey = "C"
	}
	if err := p.Sizes(name, Size{"B", &c.B, 1}, Size{cinKey, &c.Cin, map[bool]int{false: 100, true: 512}[depthwise]}, Size{"L", &c.L, 938}, Size{"K", &c.K, 7}); err != nil {
		return err
	}
	c.Cout = c.Cin
	if !depthwise {
		if err := p.Sizes(name, Size{"Cout", &c.Cout, 512}); err != nil {
			return err
		}
	}
	var err error
	if c.Pad, err = p.Int("padding", 3); err != nil || c.Pad < 0 {
		return fmt.Errorf("%s: padding: %v, want an integer ≥ 0", name, err)
	}
	lout := c.L + 2*c.Pad - c.K + 1
	if lout < 1 {
		return fmt.Errorf("%s: L=%d padding=%d K=%d give no output", name, c.L, c.Pad, c.K)
	}
	r := Rand()
	ts := NewTensors(b.Device)
	defer ts.Close()
	nw := c.Cout * c.Cin * c.K
	wshape := []int{c.Cout, c.Cin, c.K}
	if depthwise {
		nw, wshape = c.Cin*c.K, []int{c.Cin, c.K}
	}
	xshape := []int{c.B, c.Cin, c.L}
	if depthwise {
		xshape = []int{c.B, c.L, c.Cin} // the model's layout
	}
	xt, err := ts.Upload(gpu.F32, Randn(r, c.B*c.Cin*c.L, 1), xshape...)
	if err != nil {
		return err
	}
	wt, err := ts.Upload(gpu.F32, Randn(r, nw, 1), wshape...)
	if err != nil {
		return err
	}
	bt, err := ts.Upload(gpu.F32, Randn(r, c.Cout, 1), c.Cout)
	if err != nil {
		return err
	}
	out, err := ts.Output(gpu.F32, c.B, lout, c.Cout)
	if err != nil {
		return err
	}
	shape := map[string]int{"B": c.B, "L": c.L, "K": c.K, "padding": c.Pad}
	flops := 2 * float64(c.B*lout*c.Cout*c.K)
	if depthwise {
		shape["C"] = c.Cin
	} else {
		shape["Cin"], shape["Cout"] = c.Cin, c.Cout
		flops *= float64(c.Cin)
	}
	variants := []string{"direct", "im2col"}
	if depthwise {
		variants = []string{"channels_last"}
	}
	for _, v := range variants {
		med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error {
			if depthwise {
				return ops.DepthwiseConv1D(s, out, xt, wt, bt, ops.DepthwiseConv1DOptions{Padding: c.Pad, ChannelsLast: true})
			}
			return ops.Conv1D(s, out, xt, wt, bt, ops.Conv1DOptions{Padding: c.Pad, TimeMajor: true, Im2Col: v == "im2col"})
		})
		if err != nil {
			return err
		}
		b.Add(Result{Op: name, Variant: v, DType: "f32", Shape: shape, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()},
			flops, 4*float64(c.B*c.Cin*c.L+nw+c.B*lout*c.Cout))
	}
	return nil
}

func runConvDense(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	return runConvFamily(d, in, p, false)
}

func runDepthwise(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	return runConvFamily(d, in, p, true)
}

func runConvFamily(d *gpu.Device, in *tensorio.File, p Params, depthwise bool) ([]tensorio.Tensor, error) {
	name := "conv1d"
	if depthwise {
		name = "depthwise_conv1d"
	}
	if err := p.Check(name, "padding"); err != nil {
		return nil, err
	}
	pad, err := p.Int("padding", 0)
	if err != nil {
		return nil, err
	}
	if pad < 0 {
		return nil, fmt.Errorf("%s: padding=%d, want ≥ 0", name, pad)
	}
	if err := in.CheckKnown("x", "weight", "bias"); err != nil {
		return nil, err
	}
	xs, ok := in.Shape("x")
	if !ok || len(xs) != 3 {
		return nil, fmt.Errorf("%s: input tensor \"x\" has shape %v (present %v), want [B, Cin, L]", name, xs, ok)
	}
	ws, ok := in.Shape("weight")
	c := convDenseShape{B: xs[0], Cin: xs[1], L: xs[2], Pad: pad}
	switch {
	case depthwise && ok && len(ws) == 3 && ws[0] == c.Cin && ws[1] == 1:
		c.K = ws[2]
	case depthwise && ok && len(ws) == 2 && ws[0] == c.Cin:
		c.K = ws[1]
	case !depthwise && ok && len(ws) == 3 && ws[1] == c.Cin:
		c.Cout, c.K = ws[0], ws[2]
	default:
		want := fmt.Sprintf("[Cout, %d, K]", c.Cin)
		if depthwise {
			want = fmt.Sprintf("[%d, 1, K] or [%d, K]", c.Cin, c.Cin)
		}
		return nil, fmt.Errorf("%s: input tensor \"weight\" has shape %v (present %v), want %s", name, ws, ok, want)
	}
	if depthwise {
		c.Cout = c.Cin
	}
	x, err := in.Float32("x", xs...)
	if err != nil {
		return nil, err
	}
	w, err := in.Float32("weight", ws...)
	if err != nil {
		return nil, err
	}
	b, _, err := in.OptionalFloat32("bias", c.Cout)
	if err != nil {
		return nil, err
	}
	o, err := convDenseRun(d, depthwise, false, x, w, b, c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return []tensorio.Tensor{{Name: "out", DType: tensorio.F32, Shape: []int{c.B, c.Cout, c.L + 2*pad - c.K + 1}, F32: o}}, nil
}
