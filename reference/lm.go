package reference

import (
	"fmt"
	"slices"
)

// lm is the skeleton every reference language model shares: token embedding, a stack of
// residual blocks, the final RMSNorm and the head. Each model supplies its blocks.
type lm struct {
	name          string    // for errors: "fla", "mamba"
	vocab, hidden int       // V, H
	embed         []float64 // [V, H]
	normF         []float64 // [H] final RMSNorm weight
	head          []float64 // [V, H]
	eps           float64
	layers        int
	// block adds layer li's output for batch row b into the residual stream x [H].
	block func(li, b int, x []float64)
}

// step runs one token per batch row (ids [batch]) and returns the logits [batch, V].
func (m lm) step(ids []int, batch int) ([]float64, error) {
	if len(ids) != batch {
		return nil, fmt.Errorf("reference: %s step: %d ids, want batch = %d", m.name, len(ids), batch)
	}
	H, V := m.hidden, m.vocab
	logits := make([]float64, batch*V)
	for b, id := range ids {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("reference: %s step: id %d of row %d outside [0, %d)", m.name, id, b, V)
		}
		x := slices.Clone(m.embed[id*H : (id+1)*H])
		for li := range m.layers {
			m.block(li, b, x)
		}
		copy(logits[b*V:], matVec(m.head, flaRMSNorm(x, m.normF, m.eps), V))
	}
	return logits, nil
}

// forward runs ids [B, T] one token at a time through step, from the state the blocks hold,
// and returns the logits [B, T, V].
func (m lm) forward(ids []int, B, T int) ([]float64, error) {
	if len(ids) != B*T {
		return nil, fmt.Errorf("reference: %s forward: %d ids, want B·T = %d", m.name, len(ids), B*T)
	}
	V := m.vocab
	out := make([]float64, B*T*V)
	col := make([]int, B)
	for t := range T {
		for b := range B {
			col[b] = ids[b*T+t]
		}
		l, err := m.step(col, B)
		if err != nil {
			return nil, err
		}
		for b := range B {
			copy(out[(b*T+t)*V:], l[b*V:(b+1)*V])
		}
	}
	return out, nil
}
