package models

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/vkseq/vkseq/tensorio"
)

// progressMin is the total size of weight files above which OpenCheckpoint shows a progress bar.
const progressMin = 64 << 20

// Checkpoint is a model folder as upstream projects publish it, read into host memory:
// config.json, and the tensors of model.safetensors or of the shards listed by
// model.safetensors.index.json ({"weight_map": {tensor name: shard file}}). Tensors may be F32,
// F16 or BF16 (also F64), mixed within one file; they are held as float32 until Close. A model
// saved as a PyTorch pickle must be converted to safetensors first (see README); pickles are never
// read.
type Checkpoint struct {
	// Dir is the folder.
	Dir string

	cfg     *Config
	tensors map[string]tensorio.Tensor
	file    map[string]string // tensor name → file it came from, for messages

	mu      sync.Mutex
	used    map[string]bool
	skipped map[string]bool
}

// OpenCheckpoint reads dir/config.json and every tensor of the folder's safetensors file(s). If
// progress is non-nil and the files total more than 64 MiB, a progress bar of the bytes read is
// drawn on it. A missing or malformed config, a missing, truncated or malformed weights file, a
// shard index naming a file that is missing or a tensor that is not in its shard, and a tensor
// present in two shards are errors naming the file and tensor (wrapping ErrConfig or ErrWeights,
// and tensorio.ErrFormat for malformed files).
func OpenCheckpoint(dir string, progress io.Writer) (*Checkpoint, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	files, index, err := weightFiles(dir)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWeights, err)
		}
		total += st.Size()
	}
	var bar *progressbar.ProgressBar
	if progress != nil && total > progressMin {
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(progress),
			progressbar.OptionSetDescription("loading "+filepath.Base(dir)), progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish())
		defer bar.Finish()
	}
	ck := &Checkpoint{Dir: dir, cfg: cfg, tensors: map[string]tensorio.Tensor{}, file: map[string]string{},
		used: map[string]bool{}, skipped: map[string]bool{}}
	for _, f := range files {
		path := filepath.Join(dir, f)
		tf, err := readSafetensors(path, bar)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWeights, err)
		}
		for _, n := range tf.Names() {
			if prev, dup := ck.file[n]; dup {
				return nil, fmt.Errorf("%w: tensor %q is in both %s and %s", ErrWeights, n, prev, f)
			}
			if index != nil && index[n] != f {
				return nil, fmt.Errorf("%w: tensor %q is in %s, but model.safetensors.index.json maps it to %q",
					ErrWeights, n, f, index[n])
			}
			t, _ := tf.Get(n)
			ck.tensors[n] = t
			ck.file[n] = f
		}
	}
	for n, f := range index {
		if _, ok := ck.tensors[n]; !ok {
			return nil, fmt.Errorf("%w: model.safetensors.index.json maps %q to %s, which does not hold it",
				ErrWeights, n, f)
		}
	}
	return ck, nil
}

func readSafetensors(path string, bar *progressbar.ProgressBar) (*tensorio.File, error) {
	if bar == nil {
		return tensorio.ReadFile(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tf, err := tensorio.Read(io.TeeReader(f, bar))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tf, nil
}

// weightFiles lists the safetensors files of dir: model.safetensors, or the shards of
// model.safetensors.index.json (then also the index's name → file map).
func weightFiles(dir string) ([]string, map[string]string, error) {
	idxPath := filepath.Join(dir, "model.safetensors.index.json")
	b, err := os.ReadFile(idxPath)
	if os.IsNotExist(err) {
		if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
			extra := ""
			if _, e := os.Stat(filepath.Join(dir, "pytorch_model.bin")); e == nil {
				extra = " (pytorch_model.bin is a pickle: convert it to model.safetensors first, see README)"
			}
			return nil, nil, fmt.Errorf("%w: %s has neither model.safetensors nor model.safetensors.index.json%s",
				ErrWeights, dir, extra)
		}
		return []string{"model.safetensors"}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrWeights, err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.WeightMap) == 0 {
		return nil, nil, fmt.Errorf("%w: %s: want a JSON object with a non-empty \"weight_map\" (%v)", ErrWeights, idxPath, err)
	}
	var files []string
	for _, f := range idx.WeightMap {
		if f == "" || filepath.Base(f) != f {
			return nil, nil, fmt.Errorf("%w: %s: shard name %q is not a file name in the folder", ErrWeights, idxPath, f)
		}
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files, idx.WeightMap, nil
}

// Config implements Weights.
func (c *Checkpoint) Config() *Config { return c.cfg }

// Names lists every tensor of the checkpoint, sorted.
func (c *Checkpoint) Names() []string { return sortedKeys(c.tensors) }

// Has implements Weights.
func (c *Checkpoint) Has(name string) bool {
	_, ok := c.tensors[name]
	return ok
}

// Shape implements Weights.
func (c *Checkpoint) Shape(name string) ([]int, bool) {
	t, ok := c.tensors[name]
	if !ok {
		return nil, false
	}
	return append([]int(nil), t.Shape...), true
}

// DType is the stored dtype of the named tensor ("" if absent).
func (c *Checkpoint) DType(name string) tensorio.DType { return c.tensors[name].DType }

// Float32 implements Weights.
func (c *Checkpoint) Float32(name string, shape ...int) ([]float32, error) {
	t, ok := c.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s: missing tensor %q (want shape %v)", ErrWeights, c.Dir, name, shapeString(shape))
	}
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("%w: %s: tensor %q is %s, want a float tensor", ErrWeights, c.Dir, name, t.DType)
	}
	if len(shape) > 0 && !shapeMatches(t.Shape, shape) {
		return nil, fmt.Errorf("%w: %s: tensor %q has shape %v, the config implies %v", ErrWeights, c.file[name], name,
			t.Shape, shapeString(shape))
	}
	c.mu.Lock()
	c.used[name] = true
	c.mu.Unlock()
	return t.F32, nil
}

// Skip implements Weights.
func (c *Checkpoint) Skip(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range names {
		c.skipped[n] = true
	}
}

// Unused implements Weights.
func (c *Checkpoint) Unused() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.Names() {
		if !c.used[n] && !c.skipped[n] {
			out = append(out, n)
		}
	}
	return out
}

// Close drops the host copies of the tensors.
func (c *Checkpoint) Close() error {
	c.tensors = nil
	return nil
}

func shapeMatches(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if want[i] >= 0 && got[i] != want[i] {
			return false
		}
	}
	return true
}

func shapeString(s []int) string {
	if len(s) == 0 {
		return "(any)"
	}
	return fmt.Sprint(s)
}
