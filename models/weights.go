package models

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/vkseq/vkseq/gpu"
)

// Weights is a source of named tensors and the config that goes with them: a Checkpoint read from
// a folder, or Random weights in a published configuration. Names are the upstream state_dict
// names ("backbone.layers.0.mixer.in_proj.weight", "model.layers.0.attn.q_proj.weight", ...).
//
// Loaders ask Has for optional tensors only (a bias, lm_head.weight when embeddings may be tied,
// the older fused MLP), and Float32 for everything they use, with the shape the config implies: a
// tensor stored with another shape is an error naming it, the expected and the stored shape (so a
// config contradicting the weights is caught here). Every tensor read is marked used; Unused lists
// the others, which Build refuses unless the loader has skipped them by name (Skip).
type Weights interface {
	// Config is the model's config.json.
	Config() *Config
	// Has reports whether the named tensor exists.
	Has(name string) bool
	// Shape is the stored shape of the named tensor and whether it exists.
	Shape(name string) ([]int, bool)
	// Float32 returns the values of the named tensor as float32 (converted from F32, F16 or BF16),
	// row-major, checked against shape (each entry a size, or -1 for any; an empty shape accepts
	// any). The slice may be shared: callers must not modify it. It errors (wrapping ErrWeights)
	// when the tensor is missing, holds integers, or has another shape.
	Float32(name string, shape ...int) ([]float32, error)
	// Skip marks names as deliberately unused (tensors upstream itself ignores, such as the stray
	// attn.D of older fla checkpoints) so that Unused does not report them. Absent names are fine.
	Skip(names ...string)
	// Unused lists, sorted, the tensors neither read nor skipped.
	Unused() []string
}

// Upload reads the named tensor from w (checked against shape as Weights.Float32 does) and copies it
// to a new device tensor of type dt (F32 or F16) with that shape.
func Upload(d *gpu.Device, w Weights, dt gpu.DType, name string, shape ...int) (*gpu.Tensor, error) {
	v, err := w.Float32(name, shape...)
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 {
		shape, _ = w.Shape(name)
	}
	for i, n := range shape {
		if n < 0 {
			s, _ := w.Shape(name)
			shape[i] = s[i]
		}
	}
	t, err := d.FromFloats(dt, v, shape...)
	if err != nil {
		return nil, fmt.Errorf("models: uploading %q %v: %w", name, shape, err)
	}
	return t, nil
}

// Random is a Weights source of deterministic pseudo-random tensors in a published configuration,
// for benchmarks without a download (vkbench bench -model mamba-130m). It has every tensor a loader
// asks for, with the shape asked, except the names in Absent (exact names, or suffixes starting with
// "."), which makes optional tensors (lm_head.weight of a tied model, absent biases) absent. Values
// depend on the name only, and are chosen to keep a forward pass finite: by the name's last part,
// A_log → log of 1..16, D and norm weights → 1, dt biases → softplus⁻¹ of dt in [1e-3, 0.1],
// other biases → 0, conv1d weights → U(±1/√W), everything else N(0, 0.02²).
type Random struct {
	Cfg    *Config
	Absent []string

	mu   sync.Mutex
	used map[string][]int
}

// NewRandom returns a Random source for cfg.
func NewRandom(cfg *Config, absent ...string) *Random {
	return &Random{Cfg: cfg, Absent: absent, used: map[string][]int{}}
}

// Config implements Weights.
func (r *Random) Config() *Config { return r.Cfg }

// Has implements Weights.
func (r *Random) Has(name string) bool {
	for _, a := range r.Absent {
		if name == a || (strings.HasPrefix(a, ".") && strings.HasSuffix(name, a)) {
			return false
		}
	}
	return true
}

// Shape implements Weights: the shape of the last Float32 call for name (nil, Has otherwise).
func (r *Random) Shape(name string) ([]int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.used[name]
	if !ok {
		return nil, r.Has(name)
	}
	return append([]int(nil), s...), true
}

// Skip implements Weights (nothing to do).
func (r *Random) Skip(...string) {}

// Unused implements Weights: always empty.
func (r *Random) Unused() []string { return nil }

// Float32 implements Weights: every dimension of shape must be given (no -1).
func (r *Random) Float32(name string, shape ...int) ([]float32, error) {
	if !r.Has(name) {
		return nil, fmt.Errorf("%w: missing tensor %q (random weights of %s)", ErrWeights, name, r.Cfg.Source)
	}
	n := 1
	for _, s := range shape {
		if s < 0 {
			return nil, fmt.Errorf("%w: random tensor %q needs a full shape, got %v", ErrWeights, name, shape)
		}
		n *= s
	}
	r.mu.Lock()
	r.used[name] = append([]int(nil), shape...)
	r.mu.Unlock()
	v := make([]float32, n)
	h := uint64(1469598103934665603)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	rng := splitmix{h}
	last := name[strings.LastIndex(name, ".")+1:]
	switch {
	case last == "A_log":
		for i := range v {
			v[i] = float32(math.Log(1 + float64(i%16)))
		}
	case last == "D" || strings.Contains(name, "norm"):
		for i := range v {
			v[i] = 1
		}
	case last == "dt_bias" || strings.HasSuffix(name, "dt_proj.bias"):
		for i := range v {
			dt := math.Exp(rng.float()*(math.Log(0.1)-math.Log(1e-3)) + math.Log(1e-3))
			v[i] = float32(dt + math.Log(-math.Expm1(-dt)))
		}
	case last == "bias" && !strings.Contains(name, "conv1d"):
	case strings.Contains(name, "conv1d.weight") || strings.Contains(name, "conv"):
		w := 4.0
		if len(shape) > 0 {
			w = float64(shape[len(shape)-1])
		}
		for i := range v {
			v[i] = float32((2*rng.float() - 1) / math.Sqrt(w))
		}
	default:
		for i := 0; i < n; i += 2 {
			u1, u2 := rng.float(), rng.float()
			rad := math.Sqrt(-2 * math.Log(1-u1))
			v[i] = float32(0.02 * rad * math.Cos(2*math.Pi*u2))
			if i+1 < n {
				v[i+1] = float32(0.02 * rad * math.Sin(2*math.Pi*u2))
			}
		}
	}
	return v, nil
}

type splitmix struct{ s uint64 }

func (r *splitmix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float is uniform in [0, 1).
func (r *splitmix) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
