package models

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// Scratch hands out the intermediate tensors of the layers by key. A key's memory is one buffer
// that grows to the largest size asked for and is then reused, and each (key, dtype, shape) view is
// made once, so a steady decode loop allocates neither device memory nor Go memory here. Buffers it
// outgrows are kept until Close, since commands already recorded may still use them. Layers that
// run one after the other on a stream may share keys (the stream's barriers order the reuse); two
// tensors alive at once within one layer need two keys. Not safe for concurrent use.
type Scratch struct {
	d    *gpu.Device
	bufs map[string]*scratchBuf
	old  []*gpu.Tensor
	ws   *ops.Workspace
}

type scratchBuf struct {
	dt    gpu.DType
	t     *gpu.Tensor
	views []scratchView
}

type scratchView struct {
	start int
	shape []int
	t     *gpu.Tensor
}

// NewScratch returns an empty Scratch on d.
func NewScratch(d *gpu.Device) *Scratch {
	return &Scratch{d: d, bufs: map[string]*scratchBuf{}}
}

// Get returns a tensor of type dt and shape for key, with undefined contents, valid until the next
// Get of the same key with a larger size (and until Close).
func (sc *Scratch) Get(key string, dt gpu.DType, shape ...int) (*gpu.Tensor, error) {
	return sc.get(key, dt, -1, 0, shape)
}

// GetPart returns the view of shape shape at element start of key's buffer, the buffer holding at
// least total elements: the parts of one tensor that an op wrote whole (a fused projection's
// output) read in place by the ops that follow. start must keep the view's byte offset a multiple
// of the device's StorageAlignment. Like Get, each (key, dtype, start, shape) view is made once.
func (sc *Scratch) GetPart(key string, dt gpu.DType, total, start int, shape ...int) (*gpu.Tensor, error) {
	return sc.get(key, dt, total, start, shape)
}

func (sc *Scratch) get(key string, dt gpu.DType, total, start int, shape []int) (*gpu.Tensor, error) {
	n := 1
	for _, s := range shape {
		if s < 0 {
			return nil, fmt.Errorf("%w: scratch %q shape %s", ErrInput, key, dimString(shape))
		}
		n *= s
	}
	if total < 0 {
		total = n
	}
	if start < 0 || start+n > total {
		return nil, fmt.Errorf("%w: scratch %q part %s at %d of %d elements", ErrInput, key, dimString(shape), start, total)
	}
	b := sc.bufs[key]
	if b == nil || b.dt != dt || b.t.Len() < total {
		t, err := sc.d.NewTensor(dt, max(total, 1))
		if err != nil {
			return nil, fmt.Errorf("models: scratch %q %s: %w", key, dimString(shape), err)
		}
		if b != nil {
			sc.old = append(sc.old, b.t)
			for _, v := range b.views {
				v.t.Close()
			}
		}
		b = &scratchBuf{dt: dt, t: t}
		sc.bufs[key] = b
	}
	for _, v := range b.views {
		if v.start == start && slices.Equal(v.shape, shape) {
			return v.t, nil
		}
	}
	w := b.t
	if start != 0 || b.t.Len() != n {
		var err error
		if w, err = b.t.Window(start, n); err != nil {
			return nil, fmt.Errorf("models: scratch %q %s: %w", key, dimString(shape), err)
		}
	}
	own := slices.Clone(shape)
	v, err := w.Reshape(own...)
	if err != nil {
		return nil, fmt.Errorf("models: scratch %q %s: %w", key, dimString(shape), err)
	}
	b.views = append(b.views, scratchView{start: start, shape: own, t: v})
	return v, nil
}

// dimString formats a shape as [a b c] without letting the slice escape (so that callers' variadic
// shapes stay on the stack).
func dimString(shape []int) string {
	out := []byte{'['}
	for i, v := range shape {
		if i > 0 {
			out = append(out, ' ')
		}
		out = strconv.AppendInt(out, int64(v), 10)
	}
	return string(append(out, ']'))
}

// Workspace is the scratch of the chunked ops (ops.SSD, ops.GLA, ops.DeltaRule), shared by every
// layer; it is made on first use and freed by Close.
func (sc *Scratch) Workspace() *ops.Workspace {
	if sc.ws == nil {
		sc.ws = ops.NewWorkspace(sc.d)
	}
	return sc.ws
}

// Bytes is the device memory the scratch holds now (current buffers and outgrown ones).
func (sc *Scratch) Bytes() int64 {
	var n int64
	for _, b := range sc.bufs {
		n += int64(b.t.Bytes())
	}
	for _, t := range sc.old {
		n += int64(t.Bytes())
	}
	return n
}

// Close frees every buffer. Call it after the streams that used the scratch completed.
func (sc *Scratch) Close() error {
	var errs []error
	for _, b := range sc.bufs {
		for _, v := range b.views {
			v.t.Close()
		}
		errs = append(errs, b.t.Close())
	}
	for _, t := range sc.old {
		errs = append(errs, t.Close())
	}
	if sc.ws != nil {
		errs = append(errs, sc.ws.Close())
		sc.ws = nil
	}
	sc.bufs, sc.old = map[string]*scratchBuf{}, nil
	return errors.Join(errs...)
}

// Cache is the state of a model for a batch of rows: for each layer the F32 state tensors its
// Mixer asked for (StateShapes, each [B, shape...]), the scratch of the layers, the logits of the
// last position of every row, and how many tokens each row has seen. Close frees it.
type Cache struct {
	// States[l] are layer l's state tensors, in the Mixer's order.
	States [][]*gpu.Tensor
	// Logits [B, Vocab] F32: the logits of each row's last position after Prefill or Step.
	Logits *gpu.Tensor
	// Scratch holds the layers' intermediates (grown by the first prefill and the first step).
	Scratch *Scratch
	// Pos[b] counts the tokens row b has seen since it was created or reset.
	Pos []int

	batch int
	ids   *gpu.Tensor // [B·Segment] I32 prefill ids
}

// NewStateCache allocates a Cache of batch rows for layers whose per-row state shapes are shapes[l]
// (zeroed), with Logits [batch, vocab]. Decoder.NewCache calls it; a custom LM may too.
func NewStateCache(d *gpu.Device, batch, vocab int, shapes [][][]int) (*Cache, error) {
	if batch < 1 {
		return nil, fmt.Errorf("%w: batch %d, want ≥ 1", ErrInput, batch)
	}
	c := &Cache{Scratch: NewScratch(d), Pos: make([]int, batch), batch: batch}
	var err error
	if c.Logits, err = d.NewTensor(gpu.F32, batch, vocab); err != nil {
		return nil, err
	}
	for _, ls := range shapes {
		var st []*gpu.Tensor
		for _, sh := range ls {
			t, err := d.NewTensor(gpu.F32, append([]int{batch}, sh...)...)
			if err == nil {
				err = t.Fill(0)
			}
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("models: state %v: %w", sh, err)
			}
			st = append(st, t)
		}
		c.States = append(c.States, st)
	}
	return c, nil
}

// Batch is the number of rows.
func (c *Cache) Batch() int { return c.batch }

// StateBytes is the device memory of the states.
func (c *Cache) StateBytes() int64 {
	var n int64
	for _, st := range c.States {
		for _, t := range st {
			n += int64(t.Bytes())
		}
	}
	return n
}

// ResetRow zeroes row b's state (and Pos[b]) so that it starts a new sequence; the other rows keep
// theirs. It reads and writes the states from the host: no stream using the cache may be running.
func (c *Cache) ResetRow(b int) error {
	if b < 0 || b >= c.batch {
		return fmt.Errorf("%w: reset of row %d of a cache of %d rows", ErrInput, b, c.batch)
	}
	for _, st := range c.States {
		for _, t := range st {
			v, err := t.ReadFloat32()
			if err != nil {
				return err
			}
			row := t.Len() / c.batch
			clear(v[b*row : (b+1)*row])
			if err := t.WriteFloat32(v); err != nil {
				return err
			}
		}
	}
	c.Pos[b] = 0
	return nil
}

// Reset zeroes every row's state.
func (c *Cache) Reset() error {
	for _, st := range c.States {
		for _, t := range st {
			if err := t.Fill(0); err != nil {
				return err
			}
		}
	}
	clear(c.Pos)
	return nil
}

// copyRow copies row src of c's states into row dst of o's states (host round trip).
func (c *Cache) copyRow(o *Cache, src, dst int) error {
	for l, st := range c.States {
		for i, t := range st {
			v, err := t.ReadFloat32()
			if err != nil {
				return err
			}
			ot := o.States[l][i]
			w, err := ot.ReadFloat32()
			if err != nil {
				return err
			}
			row := t.Len() / c.batch
			copy(w[dst*row:(dst+1)*row], v[src*row:(src+1)*row])
			if err := ot.WriteFloat32(w); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close frees the cache's device memory.
func (c *Cache) Close() error {
	var errs []error
	for _, st := range c.States {
		for _, t := range st {
			errs = append(errs, t.Close())
		}
	}
	if c.Logits != nil {
		errs = append(errs, c.Logits.Close())
	}
	if c.ids != nil {
		errs = append(errs, c.ids.Close())
	}
	errs = append(errs, c.Scratch.Close())
	c.States = nil
	return errors.Join(errs...)
}
