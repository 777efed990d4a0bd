package models

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/vkseq/vkseq/gpu"
)

// LoadOptions are the options of Load and Build.
type LoadOptions struct {
	// DType is the storage of the large matrices (embedding, projections, LM head): gpu.F32 (the
	// zero value) or gpu.F16. Norms, biases, conv weights and SSM parameters stay F32.
	DType gpu.DType
	// Progress receives a progress bar while large weight files are read; nil: none.
	Progress io.Writer
	// Segment is the number of positions a prefill processes per pass (bounding the scratch
	// independently of T); 0 means 256.
	Segment int
}

// Loader builds a model of one model_type from its weights. It reads the config with w.Config()
// (accepting every upstream spelling of each key it supports and refusing, with ErrConfig naming
// the key, settings it does not implement), reads each tensor once with the shape the config
// implies, and calls w.Skip for tensors upstream leaves unused. On error it frees whatever it
// allocated. Build checks w.Unused() after it returns.
type Loader func(d *gpu.Device, w Weights, opt LoadOptions) (LM, error)

var (
	regMu     sync.Mutex
	loaders   = map[string]Loader{}
	published = map[string]func() *Random{}
)

// Register makes model_type loadable by Load and Build. It is meant for package init functions;
// registering a model_type twice panics (a programming error, not an input error).
func Register(modelType string, load Loader) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := loaders[modelType]; dup {
		panic("models: Register called twice for " + modelType)
	}
	loaders[modelType] = load
}

// RegisterPublished makes NAME (e.g. "mamba-130m") known to Published: weights returns random
// weights (with a config whose model_type is registered) in that published configuration.
func RegisterPublished(name string, weights func() *Random) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := published[name]; dup {
		panic("models: RegisterPublished called twice for " + name)
	}
	published[name] = weights
}

// ModelTypes lists the registered model types, sorted.
func ModelTypes() []string {
	regMu.Lock()
	defer regMu.Unlock()
	return sortedKeys(loaders)
}

// PublishedNames lists the registered published configuration names, sorted.
func PublishedNames() []string {
	regMu.Lock()
	defer regMu.Unlock()
	return sortedKeys(published)
}

// Published returns random weights in the published configuration NAME (ErrUnknownModel if none).
func Published(name string) (*Random, error) {
	regMu.Lock()
	f, ok := published[name]
	regMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: no published configuration %q (known: %s)", ErrUnknownModel, name,
			strings.Join(PublishedNames(), ", "))
	}
	return f(), nil
}

// Build dispatches on w.Config().ModelType() to the registered Loader, then refuses weights that
// hold tensors the loader neither read nor skipped (a checkpoint of another architecture, or a
// config with fewer layers than the weights).
func Build(d *gpu.Device, w Weights, opt LoadOptions) (LM, error) {
	cfg := w.Config()
	mt := cfg.ModelType()
	regMu.Lock()
	load, ok := loaders[mt]
	regMu.Unlock()
	if !ok {
		types := ModelTypes()
		sort.Strings(types)
		return nil, fmt.Errorf("%w: %s: model_type %q (known: %s)", ErrUnknownModel, cfg.Source, mt, strings.Join(types, ", "))
	}
	if opt.DType != gpu.F32 && opt.DType != gpu.F16 {
		return nil, fmt.Errorf("%w: storage dtype %v, want f32 or f16", ErrInput, opt.DType)
	}
	m, err := load(d, w, opt)
	if err != nil {
		return nil, err
	}
	if un := w.Unused(); len(un) > 0 {
		m.Close()
		if len(un) > 8 {
			un = append(un[:8:8], fmt.Sprintf("... (%d in all)", len(un)))
		}
		return nil, fmt.Errorf("%w: %s: tensors the %s model does not use (config contradicts the weights?): %s",
			ErrWeights, cfg.Source, mt, strings.Join(un, ", "))
	}
	return m, nil
}

// Load opens the checkpoint folder dir (OpenCheckpoint) and builds its model (Build). The host
// copy of the weights is dropped before it returns.
func Load(d *gpu.Device, dir string, opt LoadOptions) (LM, error) {
	ck, err := OpenCheckpoint(dir, opt.Progress)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	return Build(d, ck, opt)
}
