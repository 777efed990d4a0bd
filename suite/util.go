package suite

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
	"github.com/vkseq/vkseq/reference"
)

// Rand returns a freshly seeded generator (verify uses new random inputs each run).
func Rand() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }

// Randn returns n normal values times scale, rounded to float32 (what the GPU will see).
func Randn(r *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(float32(r.NormFloat64() * scale))
	}
	return x
}

// Tensors uploads and allocates device tensors and closes them all together.
type Tensors struct {
	d    *gpu.Device
	list []*gpu.Tensor
}

// NewTensors starts a set of tensors on d.
func NewTensors(d *gpu.Device) *Tensors { return &Tensors{d: d} }

// Upload makes a tensor of dt from x (rounded to float32, or float16 for F16).
func (ts *Tensors) Upload(dt gpu.DType, x []float64, shape ...int) (*gpu.Tensor, error) {
	t, err := ts.d.NewTensor(dt, shape...)
	if err != nil {
		return nil, err
	}
	ts.list = append(ts.list, t)
	if err := t.WriteFloat32(reference.ToFloat32(x)); err != nil {
		return nil, err
	}
	return t, nil
}

// UploadF32 uploads float32 data.
func (ts *Tensors) UploadF32(x []float32, shape ...int) (*gpu.Tensor, error) {
	t, err := ts.d.FromFloat32(x, shape...)
	if err != nil {
		return nil, err
	}
	ts.list = append(ts.list, t)
	return t, nil
}

// Output allocates an output poisoned with NaN, so that an element no shader writes fails.
func (ts *Tensors) Output(dt gpu.DType, shape ...int) (*gpu.Tensor, error) {
	t, err := ts.d.NewTensor(dt, shape...)
	if err != nil {
		return nil, err
	}
	ts.list = append(ts.list, t)
	if err := t.Fill(float32(math.NaN())); err != nil {
		return nil, err
	}
	return t, nil
}

// Close frees every tensor of the set.
func (ts *Tensors) Close() {
	for _, t := range ts.list {
		t.Close()
	}
	ts.list = nil
}

// RunStream records with record on a new stream and runs it.
func RunStream(d *gpu.Device, record func(s *gpu.Stream) error) error {
	s, err := d.NewStream()
	if err != nil {
		return err
	}
	defer s.Close()
	if err := record(s); err != nil {
		return err
	}
	return s.Run()
}

// StorageDTypes lists the storage types to verify on d: F32, and F16 where the device has 16-bit storage.
func StorageDTypes(d *gpu.Device) []gpu.DType {
	if d.Info().Float16Storage {
		return []gpu.DType{gpu.F32, gpu.F16}
	}
	return []gpu.DType{gpu.F32}
}

type quickVerifyKey struct{}

// WithQuickVerify returns a context under which an op's Verify checks a short subset of its cases:
// f32 storage only and a few of its shapes (vkbench verify -quick, and the suite's own test of
// every op), so that a run compiles few pipelines.
func WithQuickVerify(ctx context.Context) context.Context {
	return context.WithValue(ctx, quickVerifyKey{}, true)
}

// QuickVerify reports whether ctx asks Verify for its short subset (WithQuickVerify).
func QuickVerify(ctx context.Context) bool {
	q, _ := ctx.Value(quickVerifyKey{}).(bool)
	return q
}

// quickShapes returns shapes, or under QuickVerify only those at the indices keep.
func quickShapes[S any](ctx context.Context, shapes []S, keep ...int) []S {
	if !QuickVerify(ctx) {
		return shapes
	}
	var out []S
	for _, i := range keep {
		if i < len(shapes) {
			out = append(out, shapes[i])
		}
	}
	return out
}

// verifyDTypes is StorageDTypes(d), or f32 only under QuickVerify.
func verifyDTypes(ctx context.Context, d *gpu.Device) []gpu.DType {
	if QuickVerify(ctx) {
		return []gpu.DType{gpu.F32}
	}
	return StorageDTypes(d)
}

// VerifyEach reports run(dt, shape) for every storage type of d (f32 only under QuickVerify) and
// every shape, stopping early when ctx is done.
func VerifyEach[S any](ctx context.Context, d *gpu.Device, shapes []S, report func(VerifyResult), run func(gpu.DType, S) VerifyResult) error {
	for _, dt := range verifyDTypes(ctx, d) {
		for _, sh := range shapes {
			if err := ctx.Err(); err != nil {
				return err
			}
			report(run(dt, sh))
		}
	}
	return nil
}

// formProblem is a recurrence with a chunked and a recurrent form (GLA, the delta rule), both
// writing o and the final states.
type formProblem interface {
	chunked(ws *ops.Workspace) func(s *gpu.Stream) error
	recurrent(s *gpu.Stream) error
	reference() (o, fin []float64, err error)
	outputs() (o, fin *gpu.Tensor)
}

// tolerance is the largest relative L2 error ‖out−ref‖/‖ref‖ a result stored as dt may have
// against the float64 reference (docs/design.md, "Tolerances"): 1e-5 for F32 storage, 2e-3 for
// F16 storage (float16's unit roundoff is 4.9e-4, and a result passes through several roundings).
func tolerance(dt gpu.DType) float64 {
	if dt == gpu.F16 {
		return 2e-3
	}
	return 1e-5
}

// formCaseResult runs one form of a problem made by newProblem and compares o and the final
// states with its float64 reference (tolerance 1e-5 for f32 storage, 2e-3 for f16).
func formCaseResult(d *gpu.Device, ws *ops.Workspace, op, caseName string, dt gpu.DType, recurrent bool,
	newProblem func(ts *Tensors) (formProblem, error)) VerifyResult {
	form := "chunked"
	if recurrent {
		form = "recurrent"
	}
	res := VerifyResult{Op: op, Case: caseName + " " + form, DType: dt.String(), Tol: tolerance(dt)}
	ts := NewTensors(d)
	defer ts.Close()
	pr, err := newProblem(ts)
	if err == nil {
		if recurrent {
			err = RunStream(d, pr.recurrent)
		} else {
			err = RunStream(d, pr.chunked(ws))
		}
	}
	if err == nil {
		var want, wantFin []float64
		if want, wantFin, err = pr.reference(); err == nil {
			o, fin := pr.outputs()
			res.RelErr, err = worstErr([]*gpu.Tensor{o, fin}, [][]float64{want, wantFin})
		}
	}
	if err != nil {
		res.Err = err.Error()
	}
	return res
}
