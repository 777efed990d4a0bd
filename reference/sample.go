package reference

import (
	"fmt"
	"math"
	"sort"
)

// pcgHash is the PCG hash of Jarzynski and Olano ("Hash Functions for GPU Rendering", 2020).
func pcgHash(v uint32) uint32 {
	state := v*747796405 + 2891336453
	word := ((state >> ((state >> 28) + 4)) ^ state) * 277803737
	return (word >> 22) ^ word
}

// SampleUniform returns the draw u ∈ [0, 1) of row under (seed, step): 24 bits of
// pcg(row ^ pcg(step ^ pcg(seed_hi ^ pcg(seed_lo)))), the counter-based generator of ops.Sample.
func SampleUniform(seed uint64, step, row uint32) float64 {
	h := pcgHash(row ^ pcgHash(step^pcgHash(uint32(seed>>32)^pcgHash(uint32(seed)))))
	return float64(h>>8) / (1 << 24)
}

// SampleOptions are the parameters of Sample, as ops.SampleOptions.
type SampleOptions struct {
	Temperature, TopP float64
	Seed              uint64
	Step              uint32
	VocabLimit        int // 0: all V columns
}

// Sample draws one id per row of logits [B, V]. Temperature 0: the argmax (lowest index among
// equal maxima). Otherwise p_i = exp((l_i − max)/Temperature) over the first VocabLimit columns;
// with 0 < TopP < 1 the kept set is the smallest set of most likely ids whose mass reaches
// TopP·Σp, plus every id as likely as its least likely member; the id is the first kept i (index
// order) whose running kept mass exceeds u·(kept mass), u = SampleUniform(Seed, Step, row).
// margin[b] is how close row b's draw came to choosing otherwise (the smallest gap, relative to
// the total mass, between u·mass or TopP·Σp and a boundary they are compared with): a float32
// implementation can only differ from this one where the margin is below its rounding error.
func Sample(logits []float64, B, V int, opt SampleOptions) (ids []int32, margin []float64, err error) {
	vl := opt.VocabLimit
	if vl == 0 {
		vl = V
	}
	if B < 0 || V < 1 || len(logits) != B*V || vl < 1 || vl > V || !(opt.Temperature >= 0) || !(opt.TopP >= 0 && opt.TopP <= 1) {
		return nil, nil, fmt.Errorf("reference: sample: len(logits) = %d, B = %d, V = %d, options %+v: want B*V logits, 1 ≤ VocabLimit ≤ V, Temperature ≥ 0, 0 ≤ TopP ≤ 1",
			len(logits), B, V, opt)
	}
	ids = make([]int32, B)
	margin = make([]float64, B)
	for b := range B {
		row := logits[b*V : b*V+vl]
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		if opt.Temperature == 0 {
			ids[b], margin[b] = int32(best), math.Inf(1)
			continue
		}
		p := make([]float64, vl)
		z := 0.0
		for i, v := range row {
			p[i] = math.Exp((v - row[best]) / opt.Temperature)
			z += p[i]
		}
		thr, m := 0.0, math.Inf(1)
		if opt.TopP > 0 && opt.TopP < 1 {
			order := make([]int, vl)
			for i := range order {
				order[i] = i
			}
			sort.SliceStable(order, func(i, j int) bool { return p[order[i]] > p[order[j]] })
			want, cum := opt.TopP*z, 0.0
			for _, i := range order {
				prev := cum
				cum += p[i]
				if cum >= want {
					thr = p[i]
					m = math.Min(want-prev, cum-want) / z
					break
				}
			}
		}
		kept := 0.0
		for _, q := range p {
			if q >= thr {
				kept += q
			}
		}
		target := SampleUniform(opt.Seed, opt.Step, uint32(b)) * kept
		cum, pick := 0.0, -1
		for i, q := range p {
			if q < thr {
				continue
			}
			m = math.Min(m, math.Abs(cum-target)/z)
			cum += q
			if cum > target {
				pick = i
				m = math.Min(m, (cum-target)/z)
				break
			}
		}
		if pick < 0 { // only by rounding: the last kept id
			for i := vl - 1; i >= 0; i-- {
				if p[i] >= thr {
					pick = i
					break
				}
			}
		}
		ids[b], margin[b] = int32(pick), m
	}
	return ids, margin, nil
}
