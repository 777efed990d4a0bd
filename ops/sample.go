package ops

import (
	"math"

	"github.com/vkseq/vkseq/gpu"
)

// sampleLocal is fixed on every device so that the order of the reductions, and so the ids a seed
// gives, do not depend on the device's tuning.
const sampleLocal = 64

// SampleOptions are the options of Sample.
type SampleOptions struct {
	// Temperature divides the logits; 0 means greedy (argmax, the lowest index among equal maxima).
	Temperature float32
	// TopP keeps the smallest set of most likely ids whose probability sum reaches TopP (nucleus
	// sampling; every id as likely as the least likely kept one is kept too); 0 or 1 keeps all.
	TopP float32
	// Seed, Step and the row index key the counter-based random draw (the PCG hash): the same
	// (Seed, Step) gives the same ids; a decode loop passes its token index as Step.
	Seed uint64
	Step uint32
	// Counter, when non-nil, is an I32 [1] tensor whose value, read when the kernel runs, is added
	// to Step: a decode step recorded once (gpu.Graph) and replayed per token writes the token
	// index there (a gpu.Device.NewHostTensor, written between replays) instead of recording a new
	// Step.
	Counter *gpu.Tensor
	// VocabLimit, when > 0, restricts sampling to columns [0, VocabLimit) (a model's real vocabulary
	// inside its padded logits).
	VocabLimit int
}

// Sample records drawing one id per row of logits on the device, so that decode reads back B ids
// instead of B×V logits: ids I32 [B], logits [B, V] F32 (not modified). With Temperature > 0 the
// probabilities are softmax(logits/Temperature) over the first VocabLimit columns, restricted to
// the TopP nucleus and renormalised; the id is the first (in index order) whose cumulative kept
// probability exceeds u·(kept mass), u ∈ [0, 1) drawn from (Seed, Step, row). NaN logits give an
// unspecified id in [0, V).
func Sample(s *gpu.Stream, ids, logits *gpu.Tensor, opt SampleOptions) error {
	const op = "sample"
	if logits == nil || len(logits.Shape()) != 2 || logits.DType() != gpu.F32 {
		return shapeErr(op, "logits is %v, want f32 [B, V]", logits)
	}
	b, v := logits.Shape()[0], logits.Shape()[1]
	if v < 1 {
		return shapeErr(op, "logits has shape %v, want V ≥ 1", logits.Shape())
	}
	if err := checkTensor(op, "ids", ids, gpu.I32, b); err != nil {
		return err
	}
	t, p := float64(opt.Temperature), float64(opt.TopP)
	if !(t >= 0) || math.IsInf(t, 0) {
		return shapeErr(op, "Temperature = %v, want a finite value ≥ 0", t)
	}
	if !(p >= 0 && p <= 1) {
		return shapeErr(op, "TopP = %v, want 0 ≤ TopP ≤ 1", p)
	}
	vl := opt.VocabLimit
	if vl == 0 {
		vl = v
	}
	if vl < 1 || vl > v {
		return shapeErr(op, "VocabLimit = %d, want 0 (all) or 1..%d", opt.VocabLimit, v)
	}
	if opt.Counter != nil {
		if err := checkTensor(op, "Counter", opt.Counter, gpu.I32, 1); err != nil {
			return err
		}
	}
	if err := sameDevice(op, s, ids, logits, opt.Counter); err != nil {
		return err
	}
	if b == 0 {
		return nil
	}
	d := s.Device()
	// Binding 2 is the counter; without one the logits stand in (the kernel does not read it then).
	ctr := opt.Counter
	if ctr == nil {
		ctr = logits
	}
	k, err := kernel(d, "sample", []gpu.Access{gpu.Read, gpu.Write, gpu.Read}, 32, sampleLocal, b2u(opt.Counter != nil))
	if err != nil {
		return err
	}
	groups, err := group1D(d, b, 1)
	if err != nil {
		return err
	}
	push := gpu.Push(uint32(b), uint32(v), uint32(vl), opt.Temperature, opt.TopP,
		uint32(opt.Seed), uint32(opt.Seed>>32), opt.Step)
	return s.Dispatch(k, groups, push, logits, ids, ctr)
}
