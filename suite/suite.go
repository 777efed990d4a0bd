// Package suite registers every op with vkbench: how to verify it against the float64 reference,
// which shapes to benchmark, and how to run it on tensors from a safetensors file. Each op family
// adds one file here (gemm.go, eltwise.go, ...) whose init calls Register.
package suite

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/tensorio"
)

// Params are op shapes and parameters given as key=value (B=1,T=512,n_fft=512,gated=1).
type Params map[string]string

// ParseParams parses "k=v,k=v" (spaces allowed around items).
func ParseParams(s string) (Params, error) {
	p := Params{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("parameter %q: want key=value", item)
		}
		p[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return p, nil
}

// Int returns the integer parameter key, or def when absent.
func (p Params) Int(key string, def int) (int, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("parameter %s=%q: want an integer", key, v)
	}
	return n, nil
}

// Float returns the float parameter key, or def when absent.
func (p Params) Float(key string, def float64) (float64, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %s=%q: want a number", key, v)
	}
	return f, nil
}

// Bool returns the boolean parameter key (1/0/true/false), or def when absent.
func (p Params) Bool(key string, def bool) (bool, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("parameter %s=%q: want 1, 0, true or false", key, v)
	}
	return b, nil
}

// String returns the parameter key, or def when absent.
func (p Params) String(key, def string) string {
	if v, ok := p[key]; ok {
		return v
	}
	return def
}

// Check returns an error naming every key not in allowed.
// Size is one positive integer parameter read by Params.Sizes: its key, where it goes, its default.
type Size struct {
	Key string
	V   *int
	Def int
}

// Sizes reads each size (its default when absent) and requires it to be at least 1; errors name
// op and the key.
func (p Params) Sizes(op string, sizes ...Size) error {
	for _, sz := range sizes {
		v, err := p.Int(sz.Key, sz.Def)
		if err != nil {
			return err
		}
		if v < 1 {
			return fmt.Errorf("%s: %s=%d, want ≥ 1", op, sz.Key, v)
		}
		*sz.V = v
	}
	return nil
}

func (p Params) Check(op string, allowed ...string) error {
	var bad []string
	for k := range p {
		found := false
		for _, a := range allowed {
			found = found || a == k
		}
		if !found {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s: unknown parameter(s) %s; it takes %s", op, strings.Join(bad, ", "), strings.Join(allowed, ", "))
	}
	return nil
}

// VerifyResult is one verified case.
type VerifyResult struct {
	Op     string  `json:"op"`
	Case   string  `json:"case"` // shape and options, e.g. "M=37 N=29 K=13 ta"
	DType  string  `json:"dtype"`
	RelErr float64 `json:"rel_err"` // ‖out − ref‖ / ‖ref‖ (the worst output of the case)
	Tol    float64 `json:"tol"`
	Err    string  `json:"error,omitempty"` // the op failed to run
}

// Pass reports whether the case ran and met its tolerance (NaN never passes).
func (r VerifyResult) Pass() bool { return r.Err == "" && r.RelErr <= r.Tol }

// Op is one registered op family.
type Op struct {
	Name    string
	Summary string // one line for `vkbench run -h`
	// Inputs and Outputs document `vkbench run`'s tensor names and shapes.
	Inputs, Outputs, ParamsDoc string
	// Verify runs the op at its verification shapes on fresh random inputs and reports each case;
	// long adds the longest shapes.
	Verify func(ctx context.Context, d *gpu.Device, long bool, report func(VerifyResult)) error
	// Bench measures the op at its default sizes (p empty) or at the one shape p gives.
	Bench func(ctx context.Context, b *Bencher, p Params) error
	// Run runs the op on the inputs of a safetensors file and returns its outputs.
	Run func(ctx context.Context, d *gpu.Device, in *tensorio.File, p Params) ([]tensorio.Tensor, error)
	// Example returns small inputs and parameters for Run (used by the smoke and leak tests, and as
	// documentation of a valid input file).
	Example func() ([]tensorio.Tensor, Params)
}

var registry struct {
	sync.Mutex
	ops map[string]Op
}

// Register adds an op; it panics on a duplicate name (a programming error found at init).
func Register(op Op) {
	registry.Lock()
	defer registry.Unlock()
	if registry.ops == nil {
		registry.ops = map[string]Op{}
	}
	if _, dup := registry.ops[op.Name]; dup {
		panic("suite: op registered twice: " + op.Name)
	}
	registry.ops[op.Name] = op
}

// Ops returns every registered op, sorted by name.
func Ops() []Op {
	registry.Lock()
	defer registry.Unlock()
	out := make([]Op, 0, len(registry.ops))
	for _, op := range registry.ops {
		out = append(out, op)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds an op by name.
func Lookup(name string) (Op, bool) {
	registry.Lock()
	defer registry.Unlock()
	op, ok := registry.ops[name]
	return op, ok
}

// Names lists the registered ops.
func Names() []string {
	var out []string
	for _, op := range Ops() {
		out = append(out, op.Name)
	}
	return out
}
