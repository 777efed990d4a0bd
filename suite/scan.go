package suite

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
	"github.com/vkseq/vkseq/tensorio"
)

func init() {
	Register(Op{
		Name:    "selective_scan",
		Summary: "Mamba-1 selective scan (mamba-ssm's selective_scan_fn), blocked over time; float32 or float16 activations",
		Inputs: "u, delta [B,D,L], A [D,N], B, C [B,G,N,L], [D [D]], [z [B,D,L]], [delta_bias [D]], " +
			"[initial_state [B,D,N]]",
		Outputs:   "out [B,D,L], last_state [B,D,N]",
		ParamsDoc: "delta_softplus (0/1); bench: B, D, L, N, G (default: L sweep 512..32768 at D=1536 N=16, and the decode step; L=1: the decode step)",
		Verify:    verifyScan,
		Bench:     benchScan,
		Run:       runScan,
		Example: func() ([]tensorio.Tensor, Params) {
			a := ExampleTensor("A", 1, 4, 3)
			for i := range a.F32 {
				a.F32[i] = -float32(math.Exp(float64(a.F32[i]) / 2))
			}
			return []tensorio.Tensor{ExampleTensor("u", 1, 1, 4, 5), ExampleTensor("delta", 1, 1, 4, 5), a,
					ExampleTensor("B", 1, 1, 2, 3, 5), ExampleTensor("C", 1, 1, 2, 3, 5), ExampleTensor("D", 1, 4),
					ExampleTensor("z", 1, 1, 4, 5), ExampleTensor("delta_bias", 0.1, 4), ExampleTensor("initial_state", 1, 1, 4, 3)},
				Params{"delta_softplus": "1"}
		},
	})
}

// ssmDType reads the bench's dtype parameter (f32 or f16) and reports it together with the
// parameters left once it is removed.
func ssmDType(d *gpu.Device, p Params) (gpu.DType, Params, error) {
	rest := Params{}
	for k, v := range p {
		if k != "dtype" {
			rest[k] = v
		}
	}
	switch p.String("dtype", "f32") {
	case "f32":
		return gpu.F32, rest, nil
	case "f16":
		if !d.Info().Float16Storage {
			return gpu.F32, rest, fmt.Errorf("dtype f16: the device has no 16-bit storage")
		}
		return gpu.F16, rest, nil
	}
	return gpu.F32, rest, fmt.Errorf("dtype %q: want f32 or f16", p["dtype"])
}

// uploadRounded uploads x as dt and returns the values the device holds (what the reference must
// see: float16 storage rounds).
func (ts *Tensors) uploadRounded(dt gpu.DType, x []float64, shape ...int) (*gpu.Tensor, []float64, error) {
	t, err := ts.Upload(dt, x, shape...)
	if err != nil {
		return nil, nil, err
	}
	if dt == gpu.F32 {
		return t, x, nil
	}
	v, err := t.ReadFloat32()
	if err != nil {
		return nil, nil, err
	}
	return t, reference.ToFloat64(v), nil
}

func ssmUniform(r *rand.Rand, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(float32(lo + (hi-lo)*r.Float64()))
	}
	return x
}

// scanShape is one selective-scan problem; all options on (D, z, delta_bias, softplus, initial
// and last state) unless plain.
type scanShape struct {
	B, D, L, N, G int
	plain         bool
}

// String formats the case for reports.
func (sh scanShape) String() string {
	s := fmt.Sprintf("B=%d D=%d L=%d N=%d G=%d", sh.B, sh.D, sh.L, sh.N, sh.G)
	if sh.plain {
		s += " plain"
	}
	return s
}

// scanProblem holds a scan's host inputs (as the device holds them) and device tensors.
type scanProblem struct {
	in            reference.SelectiveScanInput
	u, delta, A   *gpu.Tensor
	B, C, out     *gpu.Tensor
	opt           ops.SelectiveScanOptions
	bytes, flops  float64
	shape         map[string]int
	dtype         gpu.DType
	refEstimateNS float64
}

func newScanProblem(ts *Tensors, dt gpu.DType, sh scanShape) (*scanProblem, error) {
	if err := checkRequest(ts.d, "selective_scan "+sh.String(), 4*prod(sh.B, sh.D, sh.L)+2*prod(sh.B, sh.G, sh.N, sh.L)+2*prod(sh.B, sh.D, sh.N)+prod(sh.D, sh.N+3), dt); err != nil {
		return nil, err
	}
	r := Rand()
	pr := &scanProblem{dtype: dt, shape: map[string]int{"B": sh.B, "D": sh.D, "L": sh.L, "N": sh.N, "G": sh.G}}
	in := reference.SelectiveScanInput{Batch: sh.B, Dim: sh.D, Len: sh.L, DState: sh.N, Groups: sh.G, DeltaSoftplus: !sh.plain}
	bdl, bgnl := sh.B*sh.D*sh.L, sh.B*sh.G*sh.N*sh.L
	var err error
	up := func(x []float64, shape ...int) (*gpu.Tensor, []float64) {
		if err != nil {
			return nil, nil
		}
		var t *gpu.Tensor
		var v []float64
		t, v, err = ts.uploadRounded(dt, x, shape...)
		return t, v
	}
	pr.u, in.U = up(Randn(r, bdl, 1), sh.B, sh.D, sh.L)
	delta := ssmUniform(r, bdl, -3, 1) // dt = softplus(uniform(-3, 1)): by the kernel, or here when plain
	if sh.plain {
		for i, v := range delta {
			delta[i] = float64(float32(math.Log1p(math.Exp(v))))
		}
	}
	pr.delta, in.Delta = up(delta, sh.B, sh.D, sh.L)
	pr.B, in.B = up(Randn(r, bgnl, 1), sh.B, sh.G, sh.N, sh.L)
	pr.C, in.C = up(Randn(r, bgnl, 1), sh.B, sh.G, sh.N, sh.L)
	if err != nil {
		return nil, err
	}
	in.A = make([]float64, sh.D*sh.N)
	for i := range in.A {
		in.A[i] = float64(float32(-math.Exp(r.Float64())))
	}
	if pr.A, err = ts.Upload(gpu.F32, in.A, sh.D, sh.N); err != nil {
		return nil, err
	}
	pr.opt.DtSoftplus = !sh.plain
	if !sh.plain {
		in.D, in.DeltaBias, in.InitialState = Randn(r, sh.D, 1), ssmUniform(r, sh.D, -0.5, 0.5), Randn(r, sh.B*sh.D*sh.N, 1)
		if pr.opt.Z, in.Z = up(Randn(r, bdl, 1), sh.B, sh.D, sh.L); err != nil {
			return nil, err
		}
		if pr.opt.D, err = ts.Upload(gpu.F32, in.D, sh.D); err != nil {
			return nil, err
		}
		if pr.opt.DtBias, err = ts.Upload(gpu.F32, in.DeltaBias, sh.D); err != nil {
			return nil, err
		}
		if pr.opt.InitialState, err = ts.Upload(gpu.F32, in.InitialState, sh.B, sh.D, sh.N); err != nil {
			return nil, err
		}
		if pr.opt.FinalState, err = ts.Output(gpu.F32, sh.B, sh.D, sh.N); err != nil {
			return nil, err
		}
	}
	if pr.out, err = ts.Output(dt, sh.B, sh.D, sh.L); err != nil {
		return nil, err
	}
	pr.in = in
	es := float64(dt.Size())
	// Per (b, d, t, n): dt·A, exp, decay multiply-add, input multiply-add, output multiply-add.
	pr.flops = 8 * float64(sh.B) * float64(sh.D) * float64(sh.L) * float64(sh.N)
	acts := 3.0 // u, delta, out
	if !sh.plain {
		acts = 4
	}
	pr.bytes = es*(acts*float64(bdl)+2*float64(bgnl)) + 4*float64(sh.D*sh.N)
	pr.refEstimateNS = 50 * float64(sh.B) * float64(sh.D) * float64(sh.L) * float64(sh.N) // ~50 ns per step and state (measured)
	return pr, nil
}

func (pr *scanProblem) record(s *gpu.Stream) error {
	return ops.SelectiveScan(s, pr.out, pr.u, pr.delta, pr.A, pr.B, pr.C, pr.opt)
}

func scanCase(d *gpu.Device, dt gpu.DType, sh scanShape) VerifyResult {
	res := VerifyResult{Op: "selective_scan", Case: sh.String(), DType: dt.String(), Tol: tolerance(dt)}
	ts := NewTensors(d)
	defer ts.Close()
	pr, err := newScanProblem(ts, dt, sh)
	if err == nil {
		err = RunStream(d, pr.record)
	}
	if err == nil {
		res.RelErr, err = compareOutputs(pr.in, pr.out, pr.opt.FinalState)
	}
	if err != nil {
		res.Err = err.Error()
	}
	return res
}

// compareOutputs runs the reference and returns the worse relative error of out and last state.
func compareOutputs(in reference.SelectiveScanInput, out, last *gpu.Tensor) (float64, error) {
	want, wantLast, err := reference.SelectiveScan(in)
	if err != nil {
		return 0, err
	}
	return worstErr([]*gpu.Tensor{out, last}, [][]float64{want, wantLast})
}

// worstErr reads each tensor (nil skipped) and returns the largest relative error against its
// reference (NaN wins).
func worstErr(ts []*gpu.Tensor, refs [][]float64) (float64, error) {
	worst := 0.0
	for i, t := range ts {
		if t == nil || t.Len() == 0 {
			continue
		}
		got, err := t.ReadFloat32()
		if err != nil {
			return 0, err
		}
		e := reference.RelErr(got, refs[i])
		if !(e <= worst) {
			worst = e
		}
	}
	return worst, nil
}

func verifyScan(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error {
	shapes := []scanShape{
		{B: 1, D: 4, L: 1, N: 16, G: 1},
		{B: 2, D: 4, L: 7, N: 1, G: 2, plain: true},
		{B: 1, D: 8, L: 64, N: 64, G: 4},
		{B: 2, D: 3, L: 2049, N: 16, G: 1},
		{B: 1, D: 4, L: 777, N: 256, G: 2},
	}
	if long {
		shapes = append(shapes, scanShape{B: 1, D: 8, L: 16384, N: 16, G: 1}, scanShape{B: 1, D: 2, L: 16384, N: 128, G: 2})
	}
	return VerifyEach(ctx, d, quickShapes(ctx, shapes, 2), report, func(dt gpu.DType, sh scanShape) VerifyResult { return scanCase(d, dt, sh) })
}

// refTime times the float64 reference when its estimated time is under maxRef (else 0).
func refTime(b *Bencher, estimateNS float64, f func() error) (time.Duration, error) {
	limit := b.MaxRef
	if limit == 0 {
		limit = 10 * time.Second
	}
	if time.Duration(estimateNS) > limit {
		return 0, nil
	}
	return TimeCPU(f)
}

func benchScan(ctx context.Context, b *Bencher, p Params) error {
	dt, p, err := ssmDType(b.Device, p)
	if err != nil {
		return err
	}
	if err := p.Check("selective_scan", "B", "D", "L", "N", "G"); err != nil {
		return err
	}
	var shapes []scanShape
	decode := len(p) == 0
	if len(p) == 0 {
		maxL := 32768
		if b.Quick {
			maxL = 2048
		}
		for l := 512; l <= maxL; l *= 2 {
			shapes = append(shapes, scanShape{B: 1, D: 1536, L: l, N: 16, G: 1})
		}
	} else {
		var sh scanShape
		if err := p.Sizes("selective_scan", Size{"B", &sh.B, 1}, Size{"D", &sh.D, 1536}, Size{"L", &sh.L, 2048}, Size{"N", &sh.N, 16}, Size{"G", &sh.G, 1}); err != nil {
			return err
		}
		if sh.L == 1 { // one token: the decode step
			return benchScanDecode(ctx, b, dt, sh.B, sh.D, sh.N)
		}
		shapes = append(shapes, sh)
	}
	for _, sh := range shapes {
		ts := NewTensors(b.Device)
		pr, err := newScanProblem(ts, dt, sh)
		if err != nil {
			ts.Close()
			return err
		}
		med, mn, err := b.Measure(ctx, pr.record)
		if err != nil {
			ts.Close()
			return fmt.Errorf("selective_scan %v: %w", sh, err)
		}
		refT, err := refTime(b, pr.refEstimateNS, func() error { _, _, err := reference.SelectiveScan(pr.in); return err })
		ts.Close()
		if err != nil {
			return err
		}
		b.Add(Result{Op: "selective_scan", Variant: "blocked", DType: dt.String(), Shape: pr.shape, MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds(),
			ReferenceNS: refT.Nanoseconds()}, pr.flops, pr.bytes)
	}
	if decode {
		return benchScanDecode(ctx, b, dt, 1, 1536, 16)
	}
	return nil
}

// benchScanDecode measures one decode step (SelectiveStateUpdate).
func benchScanDecode(ctx context.Context, b *Bencher, dt gpu.DType, bs, dim, n int) error {
	if err := checkRequest(b.Device, fmt.Sprintf("selective_scan decode B=%d D=%d N=%d", bs, dim, n), 3*prod(bs, dim, n)+6*prod(bs, dim), dt); err != nil {
		return err
	}
	r := Rand()
	ts := NewTensors(b.Device)
	defer ts.Close()
	var err error
	var ten [8]*gpu.Tensor
	for i, sh := range [][]int{{bs, dim}, {bs, dim}, {bs, dim}, {bs, 1, n}, {bs, 1, n}} {
		size := 1
		for _, v := range sh {
			size *= v
		}
		if ten[i], err = ts.Upload(dt, Randn(r, size, 1), sh...); err != nil {
			return err
		}
	}
	a := make([]float64, dim*n)
	for i := range a {
		a[i] = -math.Exp(r.Float64())
	}
	if ten[5], err = ts.Upload(gpu.F32, a, dim, n); err != nil {
		return err
	}
	if ten[6], err = ts.Upload(gpu.F32, Randn(r, bs*dim*n, 1), bs, dim, n); err != nil {
		return err
	}
	if ten[7], err = ts.Output(dt, bs, dim); err != nil {
		return err
	}
	med, mn, err := b.Measure(ctx, func(s *gpu.Stream) error {
		return ops.SelectiveStateUpdate(s, ten[7], ten[6], ten[0], ten[1], ten[5], ten[3], ten[4],
			ops.StateUpdateOptions{Z: ten[2], DtSoftplus: true})
	})
	if err != nil {
		return fmt.Errorf("selective_scan decode: %w", err)
	}
	b.Add(Result{Op: "selective_scan", Variant: "decode", DType: dt.String(), Shape: map[string]int{"B": bs, "D": dim, "L": 1, "N": n, "G": 1},
		MedianNS: med.Nanoseconds(), MinNS: mn.Nanoseconds()}, 8*float64(bs*dim*n), float64(dt.Size())*float64(4*dim+2*n)+8*float64(dim*n))
	return nil
}

// ssmOptional reads an optional input and uploads it (nil when absent).
func ssmOptional(ts *Tensors, in *tensorio.File, name string, shape ...int) (*gpu.Tensor, error) {
	x, ok, err := in.OptionalFloat32(name, shape...)
	if err != nil || !ok {
		return nil, err
	}
	return ts.UploadF32(x, shape...)
}

// ssmRequired reads a required input and uploads it.
func ssmRequired(ts *Tensors, in *tensorio.File, name string, shape ...int) (*gpu.Tensor, error) {
	x, err := in.Float32(name, shape...)
	if err != nil {
		return nil, err
	}
	return ts.UploadF32(x, shape...)
}

// ssmOutputs reads the output tensors back (nil entries skipped).
func ssmOutputs(names []string, ts ...*gpu.Tensor) ([]tensorio.Tensor, error) {
	var out []tensorio.Tensor
	for i, t := range ts {
		if t == nil {
			continue
		}
		v, err := t.ReadFloat32()
		if err != nil {
			return nil, err
		}
		out = append(out, tensorio.Tensor{Name: names[i], DType: tensorio.F32, Shape: t.Shape(), F32: v})
	}
	return out, nil
}

func runScan(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error) {
	const op = "selective_scan"
	if err := p.Check(op, "delta_softplus"); err != nil {
		return nil, err
	}
	softplus, err := p.Bool("delta_softplus", false)
	if err != nil {
		return nil, err
	}
	if err := in.CheckKnown("u", "delta", "A", "B", "C", "D", "z", "delta_bias", "initial_state"); err != nil {
		return nil, err
	}
	if _, err := in.Float32("u", tensorio.Any, tensorio.Any, tensorio.Any); err != nil {
		return nil, err
	}
	us, _ := in.Shape("u")
	bs, dim, l := us[0], us[1], us[2]
	if _, err := in.Float32("A", dim, tensorio.Any); err != nil {
		return nil, err
	}
	as, _ := in.Shape("A")
	n := as[1]
	if _, err := in.Float32("B", bs, tensorio.Any, n, l); err != nil {
		return nil, err
	}
	bsh, _ := in.Shape("B")
	g := bsh[1]
	ts := NewTensors(d)
	defer ts.Close()
	var t [9]*gpu.Tensor
	for i, x := range []struct {
		name     string
		optional bool
		shape    []int
	}{{"u", false, us}, {"delta", false, us}, {"A", false, as}, {"B", false, []int{bs, g, n, l}}, {"C", false, []int{bs, g, n, l}},
		{"D", true, []int{dim}}, {"z", true, us}, {"delta_bias", true, []int{dim}}, {"initial_state", true, []int{bs, dim, n}}} {
		if x.optional {
			t[i], err = ssmOptional(ts, in, x.name, x.shape...)
		} else {
			t[i], err = ssmRequired(ts, in, x.name, x.shape...)
		}
		if err != nil {
			return nil, err
		}
	}
	out, err := ts.Output(gpu.F32, bs, dim, l)
	if err != nil {
		return nil, err
	}
	last, err := ts.Output(gpu.F32, bs, dim, n)
	if err != nil {
		return nil, err
	}
	if err := RunStream(d, func(s *gpu.Stream) error {
		return ops.SelectiveScan(s, out, t[0], t[1], t[2], t[3], t[4], ops.SelectiveScanOptions{D: t[5], Z: t[6], DtBias: t[7],
			DtSoftplus: softplus, InitialState: t[8], FinalState: last})
	}); err != nil {
		return nil, err
	}
	return ssmOutputs([]string{"out", "last_state"}, out, last)
}
