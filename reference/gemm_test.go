package reference_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vkseq/vkseq/reference"
)

// gemmNaive is the triple loop, reading A and B through their stored layouts.
func gemmNaive(a, b []float64, s reference.GEMMShape) []float64 {
	c := make([]float64, s.Batch*s.M*s.N)
	for bt := 0; bt < s.Batch; bt++ {
		for i := 0; i < s.M; i++ {
			for j := 0; j < s.N; j++ {
				sum := 0.0
				for p := 0; p < s.K; p++ {
					var av, bv float64
					if s.TransA {
						av = a[bt*s.K*s.M+p*s.M+i]
					} else {
						av = a[bt*s.M*s.K+i*s.K+p]
					}
					if s.TransB {
						bv = b[bt*s.N*s.K+j*s.K+p]
					} else {
						bv = b[bt*s.K*s.N+p*s.N+j]
					}
					sum += av * bv
				}
				c[bt*s.M*s.N+i*s.N+j] = sum
			}
		}
	}
	return c
}

func TestGEMMKnown2x2(t *testing.T) {
	a := []float64{1, 2, 3, 4} // [[1,2],[3,4]]
	b := []float64{5, 6, 7, 8} // [[5,6],[7,8]]
	cases := []struct {
		tA, tB bool
		want   []float64
	}{
		{false, false, []float64{19, 22, 43, 50}}, // A·B
		{true, false, []float64{26, 30, 38, 44}},  // Aᵀ·B
		{false, true, []float64{17, 23, 39, 53}},  // A·Bᵀ
		{true, true, []float64{23, 31, 34, 46}},   // Aᵀ·Bᵀ
	}
	for _, c := range cases {
		got, err := reference.GEMM(a, b, reference.GEMMShape{Batch: 1, M: 2, N: 2, K: 2, TransA: c.tA, TransB: c.tB})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Fatalf("TransA=%v TransB=%v: got %v, want %v", c.tA, c.tB, got, c.want)
		}
	}
	// A non-square case: [1x3]·[3x2].
	got, err := reference.GEMM([]float64{1, 2, 3}, []float64{1, 0, 0, 1, 1, 1}, reference.GEMMShape{Batch: 1, M: 1, N: 2, K: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []float64{4, 5}) {
		t.Fatalf("[1x3]·[3x2] = %v, want [4 5]", got)
	}
}

func TestGEMMRandomVsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][4]int{{1, 1, 1, 1}, {1, 3, 5, 7}, {2, 4, 3, 2}, {3, 7, 1, 9}, {2, 16, 17, 15}, {1, 1, 8, 1}, {4, 5, 5, 5}}
	for _, sh := range shapes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				s := reference.GEMMShape{Batch: sh[0], M: sh[1], N: sh[2], K: sh[3], TransA: tA, TransB: tB}
				t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
					a := tcRandn(rng, s.Batch*s.M*s.K)
					b := tcRandn(rng, s.Batch*s.K*s.N)
					a0, b0 := slices.Clone(a), slices.Clone(b)
					got, err := reference.GEMM(a, b, s)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(a, a0) || !slices.Equal(b, b0) {
						t.Fatal("inputs modified")
					}
					tcClose(t, "gemm", got, gemmNaive(a, b, s), 1e-13)
				})
			}
		}
	}
}

// Storing Aᵀ and asking for TransA must give the same product as storing A.
func TestGEMMTransposeConsistency(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const M, N, K = 4, 3, 5
	a := tcRandn(rng, M*K)
	b := tcRandn(rng, K*N)
	at := make([]float64, K*M)
	for i := 0; i < M; i++ {
		for p := 0; p < K; p++ {
			at[p*M+i] = a[i*K+p]
		}
	}
	bt := make([]float64, N*K)
	for p := 0; p < K; p++ {
		for j := 0; j < N; j++ {
			bt[j*K+p] = b[p*N+j]
		}
	}
	want, err := reference.GEMM(a, b, reference.GEMMShape{Batch: 1, M: M, N: N, K: K})
	if err != nil {
		t.Fatal(err)
	}
	got, err := reference.GEMM(at, bt, reference.GEMMShape{Batch: 1, M: M, N: N, K: K, TransA: true, TransB: true})
	if err != nil {
		t.Fatal(err)
	}
	tcClose(t, "transposed storage", got, want, 1e-15)
}

func TestGEMMZeroSizes(t *testing.T) {
	got, err := reference.GEMM(nil, nil, reference.GEMMShape{Batch: 2, M: 2, N: 3, K: 0})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, make([]float64, 12)) {
		t.Fatalf("K=0: got %v, want 12 zeros", got)
	}
	got, err = reference.GEMM(nil, make([]float64, 6), reference.GEMMShape{Batch: 1, M: 0, N: 3, K: 2})
	if err != nil || len(got) != 0 {
		t.Fatalf("M=0: got %v, %v", got, err)
	}
}

func TestGEMMErrors(t *testing.T) {
	cases := []struct {
		name string
		a, b int
		s    reference.GEMMShape
	}{
		{"short a", 5, 6, reference.GEMMShape{Batch: 1, M: 2, N: 3, K: 3}},
		{"long b", 6, 10, reference.GEMMShape{Batch: 1, M: 2, N: 3, K: 3}},
		{"batch", 6, 9, reference.GEMMShape{Batch: 2, M: 2, N: 3, K: 3}},
		{"negative", 0, 0, reference.GEMMShape{Batch: 1, M: -1, N: 3, K: 3}},
		{"trans a", 5, 9, reference.GEMMShape{Batch: 1, M: 2, N: 3, K: 3, TransA: true}},
	}
	for _, c := range cases {
		_, err := reference.GEMM(make([]float64, c.a), make([]float64, c.b), c.s)
		tcWantErr(t, c.name, err)
	}
}
