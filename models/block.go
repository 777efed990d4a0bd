package models

import (
	"context"
	"errors"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// Decoder is the model every language model here shares: an embedding, pre-norm residual Blocks,
// a final RMSNorm and an LM head,
//
//	r = Embed[ids];   for each block: r += Mixer(rmsnorm(r)·Norm) [; r += MLP(rmsnorm(r)·MLPNorm)]
//	logits = (rmsnorm(r)·NormF) · Headᵀ
//
// with Embed and Head [Vocab, Hidden] (the same tensor when tied; Vocab the padded vocabulary) in
// the storage dtype. The residual stream is float32. It implements LM; a model family's loader
// builds one from its Mixer (and MLP) with NewDecoder.
//
// Peak device memory is bounded independently of T: weights (Info.WeightBytes) + the Cache (states
// B·Σ_layers·state floats·4 bytes, Logits B·Vocab·4) + the scratch of one prefill segment of S =
// Segment positions: B·S·(3·Hidden + the mixer's per-position widths)·4 bytes, plus B·S·Vocab·4
// only when Prefill is asked for every position's logits. For Mamba-1 the widths are
// 10·DInner + DtRank + 4·N (mamba-130m, B=1, S=256: 18.3 MB); for Mamba-2 about
// 5·DInner + 6·G·N + H, plus the SSD workspace of one segment.
type Decoder struct {
	Embed, Head, NormF *gpu.Tensor
	Blocks             []Block
	// Eps is the RMSNorm epsilon of every norm of the stack.
	Eps float32
	// Segment is the number of positions a prefill pass processes (bounding the scratch).
	Segment int

	info   Info
	d      *gpu.Device
	closed bool
}

// NewDecoder assembles a Decoder. info's Vocab and Hidden must match embed's shape [Vocab, Hidden];
// Params, WeightBytes and DecodeBytes are computed here from the tensors (a tied Head counted once).
// segment ≤ 0 means 256. The Decoder owns every tensor and layer passed: Close frees them.
func NewDecoder(d *gpu.Device, info Info, embed, head, normF *gpu.Tensor, blocks []Block, eps float32, segment int) (*Decoder, error) {
	if segment <= 0 {
		segment = 256
	}
	m := &Decoder{Embed: embed, Head: head, NormF: normF, Blocks: blocks, Eps: eps, Segment: segment, info: info, d: d}
	es := embed.Shape()
	if len(es) != 2 || es[0] != info.Vocab || es[1] != info.Hidden {
		m.Close()
		return nil, fmt.Errorf("%w: embedding is %v, want [%d, %d]", ErrWeights, es, info.Vocab, info.Hidden)
	}
	if m.info.VocabSize <= 0 || m.info.VocabSize > m.info.Vocab {
		m.info.VocabSize = m.info.Vocab
	}
	return m, m.count()
}

// count fills Params and the byte counts. It is given the device tensors, so it has to trust that
// the mixers' own tensors are reported by their WeightStats when they implement it.
func (m *Decoder) count() error {
	add := func(t *gpu.Tensor, decode bool) {
		if t == nil {
			return
		}
		m.info.Params += int64(t.Len())
		m.info.WeightBytes += int64(t.Bytes())
		if decode {
			m.info.DecodeBytes += int64(t.Bytes())
		}
	}
	add(m.Embed, false)
	m.info.DecodeBytes += int64(m.Embed.Bytes()) / int64(m.info.Vocab) // one row per token
	if m.Head != m.Embed {
		add(m.Head, true)
	} else {
		m.info.DecodeBytes += int64(m.Head.Bytes())
	}
	add(m.NormF, true)
	for _, b := range m.Blocks {
		add(b.Norm, true)
		add(b.MLPNorm, true)
		for _, l := range []any{b.Mixer, b.MLP} {
			if ws, ok := l.(interface{ Weights() []*gpu.Tensor }); ok {
				for _, t := range ws.Weights() {
					add(t, true)
					if len(t.Shape()) == 2 {
						m.info.TokenFLOPs += 2 * int64(t.Len())
					}
				}
			}
		}
	}
	m.info.Layers = len(m.Blocks)
	m.info.HeadFLOPs = 2 * int64(m.info.Vocab) * int64(m.info.Hidden)
	return nil
}

// Info implements LM.
func (m *Decoder) Info() Info { return m.info }

// NewCache implements LM.
func (m *Decoder) NewCache(batch int) (*Cache, error) {
	shapes := make([][][]int, len(m.Blocks))
	for i, b := range m.Blocks {
		shapes[i] = b.Mixer.StateShapes()
	}
	return NewStateCache(m.d, batch, m.info.Vocab, shapes)
}

// Close frees the weights and the layers.
func (m *Decoder) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	for _, t := range []*gpu.Tensor{m.Embed, m.NormF} {
		if t != nil {
			errs = append(errs, t.Close())
		}
	}
	if m.Head != nil && m.Head != m.Embed {
		errs = append(errs, m.Head.Close())
	}
	for _, b := range m.Blocks {
		for _, t := range []*gpu.Tensor{b.Norm, b.MLPNorm} {
			if t != nil {
				errs = append(errs, t.Close())
			}
		}
		if b.Mixer != nil {
			errs = append(errs, b.Mixer.Close())
		}
		if b.MLP != nil {
			errs = append(errs, b.MLP.Close())
		}
	}
	return errors.Join(errs...)
}

// stack records the blocks and the final norm over the embedded residual resid [M, H] (M = B·t);
// the final normalised hidden states go to normed [M, H]. mix is scratch [M, H]; x3 shapes
// the mixer inputs as [B, t, H] (nil in decode, where they are [B, H]).
func (m *Decoder) stack(s *gpu.Stream, c *Cache, resid, normed, mix *gpu.Tensor, rows, t int, decode bool) error {
	sc := c.Scratch
	var prev *gpu.Tensor
	for l, b := range m.Blocks {
		if err := addRMSNorm(s, normed, resid, prev, b.Norm, m.Eps); err != nil {
			return fmt.Errorf("layer %d norm: %w", l, err)
		}
		var err error
		if decode {
			err = b.Mixer.Step(s, sc, mix, normed, c.States[l])
		} else {
			err = b.Mixer.Forward(s, sc, mix, normed, c.States[l])
		}
		if err != nil {
			return fmt.Errorf("layer %d mixer: %w", l, err)
		}
		prev = mix
		if b.MLP != nil {
			if err := addRMSNorm(s, normed, resid, mix, b.MLPNorm, m.Eps); err != nil {
				return fmt.Errorf("layer %d mlp norm: %w", l, err)
			}
			if err := b.MLP.Forward(s, sc, mix, normed); err != nil {
				return fmt.Errorf("layer %d mlp: %w", l, err)
			}
		}
	}
	if err := addRMSNorm(s, normed, resid, prev, m.NormF, m.Eps); err != nil {
		return fmt.Errorf("final norm: %w", err)
	}
	return nil
}

// stepStack records a decode step's blocks, final norm and LM head over the embedded rows in resid
// [B, H] into c.Logits. Where a layer implements NormedStepper (NormedForwarder) and the fold
// applies, the block's norm runs inside the layer's first projection: the residual stream then
// alternates between resid and resid2 (the folded projection reads one while it writes the other);
// elsewhere AddRMSNorm updates it in place and writes normed, as in prefill. The final norm folds
// into the LM head the same way.
func (m *Decoder) stepStack(s *gpu.Stream, c *Cache, resid, resid2, normed, mix *gpu.Tensor) error {
	sc := c.Scratch
	cur, other := resid, resid2
	var prev *gpu.Tensor
	// norm runs the block norm w before a layer: folded by try when it can, else AddRMSNorm then
	// plain. It leaves cur holding the updated residual stream.
	norm := func(w *gpu.Tensor, try func(ops.NormedRows) (bool, error), plain func() error) error {
		in := ops.NormedRows{Residual: cur, Add: prev, Weight: w, Eps: m.Eps, ResidualOut: other, Normed: normed}
		if try != nil {
			ok, err := try(in)
			if err != nil {
				return err
			}
			if ok {
				if prev != nil {
					cur, other = other, cur
				}
				return nil
			}
		}
		if err := addRMSNorm(s, normed, cur, prev, w, m.Eps); err != nil {
			return err
		}
		return plain()
	}
	for l, b := range m.Blocks {
		var try func(ops.NormedRows) (bool, error)
		if ns, ok := b.Mixer.(NormedStepper); ok && foldNorms {
			try = func(in ops.NormedRows) (bool, error) { return ns.StepNormed(s, sc, mix, in, c.States[l]) }
		}
		if err := norm(b.Norm, try, func() error { return b.Mixer.Step(s, sc, mix, normed, c.States[l]) }); err != nil {
			return fmt.Errorf("layer %d mixer: %w", l, err)
		}
		prev = mix
		if b.MLP != nil {
			try = nil
			if nf, ok := b.MLP.(NormedForwarder); ok && foldNorms {
				try = func(in ops.NormedRows) (bool, error) { return nf.ForwardNormed(s, sc, mix, in) }
			}
			if err := norm(b.MLPNorm, try, func() error { return b.MLP.Forward(s, sc, mix, normed) }); err != nil {
				return fmt.Errorf("layer %d mlp: %w", l, err)
			}
		}
	}
	try := func(in ops.NormedRows) (bool, error) { return ops.LinearRMSNormFolded(s, c.Logits, in, m.Head, nil) }
	if !foldNorms {
		try = nil
	}
	if err := norm(m.NormF, try, func() error { return ops.Linear(s, c.Logits, normed, m.Head, nil) }); err != nil {
		return fmt.Errorf("final norm and lm head: %w", err)
	}
	return nil
}

// foldNorms lets decode fold the block norms into the layers' first projections (tests turn it
// off to compare).
var foldNorms = true

// Step implements LM.
func (m *Decoder) Step(s *gpu.Stream, c *Cache, ids *gpu.Tensor) error {
	B, H := c.batch, m.info.Hidden
	if ids == nil || ids.DType() != gpu.I32 || ids.Len() != B {
		return fmt.Errorf("%w: step ids %v, want i32 [%d]", ErrInput, ids, B)
	}
	sc := c.Scratch
	resid, err := sc.Get("dec.resid", gpu.F32, B, H)
	if err != nil {
		return err
	}
	normed, err := sc.Get("dec.normed", gpu.F32, B, H)
	if err != nil {
		return err
	}
	mix, err := sc.Get("dec.mix", gpu.F32, B, H)
	if err != nil {
		return err
	}
	if err := ops.Embedding(s, resid, ids, m.Embed); err != nil {
		return fmt.Errorf("embedding: %w", err)
	}
	resid2, err := sc.Get("dec.resid2", gpu.F32, B, H)
	if err != nil {
		return err
	}
	if err := m.stepStack(s, c, resid, resid2, normed, mix); err != nil {
		return err
	}
	for b := range c.Pos {
		c.Pos[b]++
	}
	return nil
}

// Prefill implements LM.
func (m *Decoder) Prefill(ctx context.Context, s *gpu.Stream, c *Cache, ids []int32, T int, lens []int, all []float32) error {
	B, V := c.batch, m.info.Vocab
	if T < 0 || len(ids) != B*T {
		return fmt.Errorf("%w: %d ids for a batch of %d rows of T=%d", ErrInput, len(ids), B, T)
	}
	for i, id := range ids {
		if id < 0 || int(id) >= V {
			return fmt.Errorf("%w: input id %d at [%d, %d] is outside the vocabulary [0, %d)", ErrInput, id, i/max(T, 1), i%max(T, 1), V)
		}
	}
	if all != nil && len(all) != B*T*V {
		return fmt.Errorf("%w: logits buffer of %d values, want B·T·V = %d", ErrInput, len(all), B*T*V)
	}
	uniform := true
	if lens != nil {
		if len(lens) != B {
			return fmt.Errorf("%w: %d lengths for %d rows", ErrInput, len(lens), B)
		}
		for b, n := range lens {
			if n < 0 || n > T {
				return fmt.Errorf("%w: row %d length %d, want 0 ≤ length ≤ T = %d", ErrInput, b, n, T)
			}
			uniform = uniform && n == T
		}
	}
	if uniform {
		return m.prefill(ctx, s, c, ids, T, all)
	}
	// Rows of different lengths: each row runs alone in a one-row cache, its state copied in and out.
	one, err := m.NewCache(1)
	if err != nil {
		return err
	}
	defer one.Close()
	logits, err := c.Logits.ReadFloat32()
	if err != nil {
		return err
	}
	for b, n := range lens {
		if n == 0 {
			continue
		}
		if err := c.copyRow(one, b, 0); err != nil {
			return err
		}
		var rowAll []float32
		if all != nil {
			rowAll = make([]float32, n*V)
		}
		if err := m.prefill(ctx, s, one, ids[b*T:b*T+n], n, rowAll); err != nil {
			return fmt.Errorf("row %d: %w", b, err)
		}
		if all != nil {
			copy(all[b*T*V:], rowAll)
		}
		if err := one.copyRow(c, 0, b); err != nil {
			return err
		}
		last, err := one.Logits.ReadFloat32()
		if err != nil {
			return err
		}
		copy(logits[b*V:(b+1)*V], last)
		c.Pos[b] += n
	}
	return c.Logits.WriteFloat32(logits)
}

// prefill runs every row for T positions, Segment positions per pass.
func (m *Decoder) prefill(ctx context.Context, s *gpu.Stream, c *Cache, ids []int32, T int, all []float32) error {
	B, H, V := c.batch, m.info.Hidden, m.info.Vocab
	sc := c.Scratch
	seg := make([]int32, 0, B*min(T, m.Segment))
	for t0 := 0; t0 < T; t0 += m.Segment {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := min(m.Segment, T-t0)
		seg = seg[:0]
		for b := 0; b < B; b++ {
			seg = append(seg, ids[b*T+t0:b*T+t0+t]...)
		}
		idt, err := sc.Get("dec.ids", gpu.I32, B, t)
		if err != nil {
			return err
		}
		if err := idt.WriteInt32(seg); err != nil {
			return err
		}
		resid, err := sc.Get("dec.presid", gpu.F32, B, t, H)
		if err != nil {
			return err
		}
		normed, err := sc.Get("dec.pnormed", gpu.F32, B, t, H)
		if err != nil {
			return err
		}
		mix, err := sc.Get("dec.pmix", gpu.F32, B, t, H)
		if err != nil {
			return err
		}
		if err := ops.Embedding(s, resid, idt, m.Embed); err != nil {
			return fmt.Errorf("embedding: %w", err)
		}
		if err := m.stack(s, c, resid, normed, mix, B, t, false); err != nil {
			return err
		}
		// The last position of each row: gather rows b·t + t−1 of normed.
		lastIdx := make([]int32, B)
		for b := range lastIdx {
			lastIdx[b] = int32(b*t + t - 1)
		}
		li, err := sc.Get("dec.lastidx", gpu.I32, B)
		if err != nil {
			return err
		}
		if err := li.WriteInt32(lastIdx); err != nil {
			return err
		}
		last, err := sc.Get("dec.last", gpu.F32, B, H)
		if err != nil {
			return err
		}
		flat, err := sc.Get("dec.pnormed", gpu.F32, B*t, H)
		if err != nil {
			return err
		}
		if err := ops.Embedding(s, last, li, flat); err != nil {
			return fmt.Errorf("last positions: %w", err)
		}
		if err := ops.Linear(s, c.Logits, last, m.Head, nil); err != nil {
			return fmt.Errorf("lm head: %w", err)
		}
		var lg *gpu.Tensor
		if all != nil {
			if lg, err = sc.Get("dec.plogits", gpu.F32, B, t, V); err != nil {
				return err
			}
			if err := ops.Linear(s, lg, normed, m.Head, nil); err != nil {
				return fmt.Errorf("lm head: %w", err)
			}
		}
		if err := s.Run(); err != nil {
			return err
		}
		if all != nil {
			v, err := lg.ReadFloat32()
			if err != nil {
				return err
			}
			for b := 0; b < B; b++ {
				copy(all[(b*T+t0)*V:(b*T+t0+t)*V], v[b*t*V:(b+1)*t*V])
			}
		}
	}
	for b := range c.Pos {
		c.Pos[b] += T
	}
	return nil
}

// addRMSNorm records: if x != nil, resid += x; then out = rmsnorm(resid)·w.
func addRMSNorm(s *gpu.Stream, out, resid, x, w *gpu.Tensor, eps float32) error {
	return ops.AddRMSNorm(s, out, resid, x, w, eps)
}
