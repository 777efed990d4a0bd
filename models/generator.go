package models

import (
	"errors"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// Generator decodes tokens for every row of a Cache with a decode step recorded once and replayed
// per token (a gpu.Graph): one token is ops.Sample of one id per row from c.Logits, then the
// model's Step on those ids (leaving the next logits in c.Logits), as one submission whose only
// host work is writing the token index into a host-visible counter and reading back the B sampled
// ids. Next allocates no Go memory once the step is recorded.
//
// The recording binds the cache's state, logits and scratch tensors, so a Generator stays correct
// after Cache.ResetRow, Cache.Reset and new prefills: they change those tensors' contents, not the
// tensors (a scratch buffer a prefill outgrows stays allocated until the cache closes, and the
// recording keeps using it as its own intermediate). Should memory the recording binds be freed,
// the step is recorded again on the next call. A Generator belongs to one cache and must not run
// while a stream uses the cache. Not safe for concurrent use.
type Generator struct {
	m     LM
	c     *Cache
	opt   ops.SampleOptions
	d     *gpu.Device
	ids   *gpu.Tensor // [B] I32: the sampled ids, read by the step
	out   *gpu.Tensor // [B] I32 host-visible: their copy for the host
	ctr   *gpu.Tensor // [1] I32 host-visible: the token index, added to opt.Step
	ctrv  [1]int32
	graph *gpu.Graph
	pos   []int // Cache.Pos kept across a recording (Step advances it at record time)
	n     int   // tokens generated
	recs  int   // recordings made (tests)
}

// NewGenerator prepares decoding with model m on cache c, sampling with opt (its Counter is the
// Generator's own; the k-th token, from 0, is drawn with Step = opt.Step + k). The step is
// recorded on the first Next. Close frees the Generator (not m or c).
func NewGenerator(m LM, c *Cache, opt ops.SampleOptions) (*Generator, error) {
	if m == nil || c == nil || c.Logits == nil {
		return nil, fmt.Errorf("%w: generator of a nil model or cache", ErrInput)
	}
	d := c.Logits.Device()
	g := &Generator{m: m, c: c, opt: opt, d: d, pos: make([]int, c.batch)}
	var err error
	if g.ids, err = d.NewTensor(gpu.I32, c.batch); err == nil {
		if g.out, err = d.NewHostTensor(gpu.I32, c.batch); err == nil {
			g.ctr, err = d.NewHostTensor(gpu.I32, 1)
		}
	}
	if err == nil {
		err = g.ids.Fill(0)
	}
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("models: generator: %w", err)
	}
	g.opt.Counter = g.ctr
	return g, nil
}

// record records one token: sample, step, and the copy of the ids for the host.
func (g *Generator) record() error {
	copy(g.pos, g.c.Pos)
	graph, err := g.d.Record(func(s *gpu.Stream) error {
		if err := ops.Sample(s, g.ids, g.c.Logits, g.opt); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		if err := g.m.Step(s, g.c, g.ids); err != nil {
			return err
		}
		return s.Copy(g.out, g.ids)
	})
	copy(g.c.Pos, g.pos)
	if err != nil {
		return fmt.Errorf("models: recording the decode step: %w", err)
	}
	g.graph = graph
	g.recs++
	return nil
}

// Next decodes one token for every row: it samples ids (len B) from the current logits, runs the
// model on them so that c.Logits holds the next logits, advances c.Pos, and returns when the
// device is done. It allocates no Go memory except when (re)recording the step.
func (g *Generator) Next(ids []int32) error {
	if g.graph == nil && g.ctr == nil {
		return fmt.Errorf("%w: generator", gpu.ErrClosed)
	}
	if len(ids) != g.c.batch {
		return fmt.Errorf("%w: %d ids for %d rows", ErrInput, len(ids), g.c.batch)
	}
	if g.graph == nil {
		if err := g.record(); err != nil {
			return err
		}
	}
	g.ctrv[0] = int32(g.n)
	if err := g.ctr.WriteInt32(g.ctrv[:]); err != nil {
		return err
	}
	err := g.graph.Run()
	if errors.Is(err, gpu.ErrStale) { // memory the recording binds was freed: record again
		g.graph.Close()
		g.graph = nil
		if err = g.record(); err == nil {
			err = g.graph.Run()
		}
	}
	if err != nil {
		return err
	}
	if err := g.out.ReadInt32Into(ids); err != nil {
		return err
	}
	for b := range g.c.Pos {
		g.c.Pos[b]++
	}
	g.n++
	return nil
}

// Close frees the Generator's recording and tensors. It is idempotent.
func (g *Generator) Close() error {
	err := g.graph.Close()
	g.graph = nil
	for _, t := range []*gpu.Tensor{g.ids, g.out, g.ctr} {
		if t != nil {
			err = errors.Join(err, t.Close())
		}
	}
	g.ids, g.out, g.ctr = nil, nil, nil
	return err
}
