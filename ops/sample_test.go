package ops

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestSample(t *testing.T) {
	d := device(t)
	r := newRand(t)
	type tc struct {
		B, V, limit int
		temp, topP  float64
		scale       float64
	}
	cases := []tc{
		{1, 1, 0, 0, 0, 1}, {3, 7, 0, 0, 0, 1}, {4, 1000, 0, 0, 0, 3}, {2, 50280, 50277, 0, 0, 5},
		{5, 1, 0, 1, 0.9, 1}, {8, 17, 0, 1, 0, 1}, {8, 100, 0, 0.7, 0.9, 2}, {6, 1000, 0, 1, 0.5, 3},
		{4, 32000, 31990, 0.8, 0.95, 4}, {3, 300, 0, 1e-3, 0.9, 1}, {3, 300, 0, 100, 0.3, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("B%d_V%d_lim%d_T%g_p%g", c.B, c.V, c.limit, c.temp, c.topP), func(t *testing.T) {
			logits := rounded(randn(r, c.B*c.V, c.scale))
			if c.V > 10 && c.temp == 0 { // a tie: the lowest index must win
				logits[3], logits[9] = 50, 50
			}
			lt := upload(t, d, gpu.F32, logits, c.B, c.V)
			for step := uint32(0); step < 3; step++ {
				opt := SampleOptions{Temperature: float32(c.temp), TopP: float32(c.topP), Seed: r.Uint64(), Step: step, VocabLimit: c.limit}
				ids := poisoned(t, d, gpu.I32, c.B)
				if err := ids.Fill(-1); err != nil { // an id the kernel does not write fails
					t.Fatal(err)
				}
				s := stream(t, d)
				if err := Sample(s, ids, lt, opt); err != nil {
					t.Fatal(err)
				}
				if err := s.Run(); err != nil {
					t.Fatal(err)
				}
				got, err := ids.ReadInt32()
				if err != nil {
					t.Fatal(err)
				}
				want, margin, err := reference.Sample(logits, c.B, c.V, reference.SampleOptions{
					Temperature: c.temp, TopP: c.topP, Seed: opt.Seed, Step: step, VocabLimit: c.limit})
				if err != nil {
					t.Fatal(err)
				}
				for b := range c.B {
					if got[b] != want[b] && margin[b] > 1e-5 {
						t.Errorf("step %d row %d: id %d, want %d (margin %.3g)", step, b, got[b], want[b], margin[b])
					}
				}
			}
		})
	}
}

// TestSampleDistribution draws many ids from a small distribution and compares their frequencies
// with the renormalised nucleus probabilities.
func TestSampleDistribution(t *testing.T) {
	d := device(t)
	logits := []float64{0, math.Log(2), math.Log(4), math.Log(8), -20}
	const rows = 4000
	all := make([]float64, 0, rows*len(logits))
	for range rows {
		all = append(all, logits...)
	}
	lt := upload(t, d, gpu.F32, all, rows, len(logits))
	ids := poisoned(t, d, gpu.I32, rows)
	s := stream(t, d)
	// top-p 0.7 of {1,2,4,8}/15: keeps 8 and 4 (12/15 ≥ 0.7), renormalised to 1/3, 2/3.
	if err := Sample(s, ids, lt, SampleOptions{Temperature: 1, TopP: 0.7, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	got, _ := ids.ReadInt32()
	count := make([]int, len(logits))
	for _, id := range got {
		count[id]++
	}
	if count[0]+count[1]+count[4] != 0 {
		t.Fatalf("ids outside the nucleus drawn: counts %v", count)
	}
	if f := float64(count[3]) / rows; math.Abs(f-2.0/3) > 0.03 {
		t.Errorf("frequency of the most likely id %.3f, want 2/3 (counts %v)", f, count)
	}
}

// TestSampleCounter checks that a counter tensor read when the kernel runs adds to Step: Step s+c
// and (Step s, counter c) draw the same ids for every row, and a different c draws other ids.
func TestSampleCounter(t *testing.T) {
	d := device(t)
	const B, V = 64, 37
	lt := upload(t, d, gpu.F32, randn(rand.New(rand.NewPCG(7, 8)), B*V, 1.0), B, V)
	ctr, err := d.NewHostTensor(gpu.I32, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ctr.Close()
	s := stream(t, d)
	draw := func(step uint32, c int32, counter bool) []int32 {
		t.Helper()
		ids := poisoned(t, d, gpu.I32, B)
		opt := SampleOptions{Temperature: 1.5, Seed: 99, Step: step}
		if counter {
			opt.Counter = ctr
			if err := ctr.WriteInt32([]int32{c}); err != nil {
				t.Fatal(err)
			}
		}
		if err := Sample(s, ids, lt, opt); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		got, err := ids.ReadInt32()
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := draw(7, 0, false)
	if got := draw(4, 3, true); !slices.Equal(got, want) {
		t.Errorf("Step 4 + counter 3: %v, want Step 7's %v", got, want)
	}
	if got := draw(4, 4, true); slices.Equal(got, want) {
		t.Errorf("Step 4 + counter 4 drew Step 7's ids %v for all %d rows", got, B)
	}
}

func TestSampleErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	l := poisoned(t, d, gpu.F32, 2, 10)
	ids := poisoned(t, d, gpu.I32, 2)
	for name, err := range map[string]error{
		"ids dtype":   Sample(s, poisoned(t, d, gpu.F32, 2), l, SampleOptions{}),
		"ids shape":   Sample(s, poisoned(t, d, gpu.I32, 3), l, SampleOptions{}),
		"logits 1-D":  Sample(s, ids, poisoned(t, d, gpu.F32, 20), SampleOptions{}),
		"temperature": Sample(s, ids, l, SampleOptions{Temperature: -1}),
		"top-p":       Sample(s, ids, l, SampleOptions{Temperature: 1, TopP: 1.5}),
		"top-p nan":   Sample(s, ids, l, SampleOptions{Temperature: 1, TopP: float32(math.NaN())}),
		"limit":       Sample(s, ids, l, SampleOptions{VocabLimit: 11}),
		"counter":     Sample(s, ids, l, SampleOptions{Counter: poisoned(t, d, gpu.I32, 2)}),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
