package ops

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestEmbedding(t *testing.T) {
	d := device(t)
	r := newRand(t)
	for _, dt := range dtypes(d) {
		for _, sh := range [][3]int{{1, 1, 1}, {5, 7, 3}, {64, 10, 33}, {1000, 200, 64}, {3, 130, 4}, {4, 300, 16}, {6, 501, 5}} {
			n, v, dim := sh[0], sh[1], sh[2]
			for _, limit := range []uint64{0, uint64(n*dim*4 + 256)} {
				t.Run(fmt.Sprintf("%v_N%d_V%d_D%d_limit%d", dt, n, v, dim, limit), func(t *testing.T) {
					ids := make([]int32, n)
					for i := range ids {
						ids[i] = int32(r.IntN(v))
					}
					ids[n-1] = int32(v - 1)
					idt, err := d.FromInt32(ids, n)
					if err != nil {
						t.Fatal(err)
					}
					defer idt.Close()
					tt, table := uploadAs(t, d, dt, randn(r, v*dim, 1e3), v, dim)
					out := poisoned(t, d, gpu.F32, n, dim)
					s := stream(t, d)
					withBindLimit(limit, func() {
						if err := Embedding(s, out, idt, tt); err != nil {
							t.Fatal(err)
						}
					})
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					want, err := reference.Embedding(ids, table, v, dim)
					if err != nil {
						t.Fatal(err)
					}
					checkErr(t, "embedding", read(t, out), want, 0)
				})
			}
		}
	}
}

// TestEmbeddingBadIDs checks that ids outside [0, V) write NaN rows and the others their rows.
func TestEmbeddingBadIDs(t *testing.T) {
	d := device(t)
	ids := []int32{2, -1, 5, 0}
	idt, err := d.FromInt32(ids, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer idt.Close()
	table := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	tt := upload(t, d, gpu.F32, table, 5, 2)
	out := poisoned(t, d, gpu.F32, 2, 2, 2)
	if err := out.Fill(7); err != nil {
		t.Fatal(err)
	}
	s := stream(t, d)
	if err := Embedding(s, out, idt, tt); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	got := read(t, out)
	nan := float32(math.NaN())
	for i, w := range []float32{4, 5, nan, nan, nan, nan, 0, 1} {
		if !(got[i] == w || math.IsNaN(float64(got[i])) && math.IsNaN(float64(w))) {
			t.Fatalf("out = %v, want rows 2, NaN, NaN, 0", got)
		}
	}
}

func TestEmbeddingErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	ids := poisoned(t, d, gpu.I32, 4)
	tab := poisoned(t, d, gpu.F32, 10, 3)
	for name, err := range map[string]error{
		"ids dtype":   Embedding(s, poisoned(t, d, gpu.F32, 4, 3), poisoned(t, d, gpu.F32, 4), tab),
		"table shape": Embedding(s, poisoned(t, d, gpu.F32, 4, 3), ids, poisoned(t, d, gpu.F32, 30)),
		"out shape":   Embedding(s, poisoned(t, d, gpu.F32, 4, 4), ids, tab),
		"out dtype":   Embedding(s, poisoned(t, d, gpu.F16, 4, 3), ids, tab),
		"nil":         Embedding(s, nil, ids, tab),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
