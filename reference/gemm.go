package reference

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// GEMMShape describes a batched matrix product C[bt] = op(A[bt]) · op(B[bt]).
//
// Storage, row-major:
//
//	A: [Batch, M, K], or [Batch, K, M] when TransA (op(A) = Aᵀ)
//	B: [Batch, K, N], or [Batch, N, K] when TransB (op(B) = Bᵀ)
//	C: [Batch, M, N]
//
// All sizes must be >= 0; a zero size gives an empty (or, for K = 0, all-zero)
// result.
type GEMMShape struct {
	Batch, M, N, K int
	TransA, TransB bool
}

// GEMM returns C [Batch, M, N] with C[bt] = op(A[bt]) · op(B[bt]) in float64,
// computed with gonum's blas64 Dgemm. a and b are laid out as described by
// GEMMShape and are not modified. A wrong length or a negative size is an
// error.
func GEMM(a, b []float64, s GEMMShape) ([]float64, error) {
	if s.Batch < 0 || s.M < 0 || s.N < 0 || s.K < 0 {
		return nil, fmt.Errorf("reference: gemm: shape Batch=%d M=%d N=%d K=%d, want all sizes >= 0", s.Batch, s.M, s.N, s.K)
	}
	aDims, bDims := "Batch*M*K", "Batch*K*N"
	if s.TransA {
		aDims = "Batch*K*M"
	}
	if s.TransB {
		bDims = "Batch*N*K"
	}
	if want := s.Batch * s.M * s.K; len(a) != want {
		return nil, fmt.Errorf("reference: gemm: len(a) = %d, want %s = %d", len(a), aDims, want)
	}
	if want := s.Batch * s.K * s.N; len(b) != want {
		return nil, fmt.Errorf("reference: gemm: len(b) = %d, want %s = %d", len(b), bDims, want)
	}
	c := make([]float64, s.Batch*s.M*s.N)
	if s.M == 0 || s.N == 0 || s.K == 0 {
		// Nothing to multiply; blas64 rejects zero leading dimensions.
		return c, nil
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	aRows, aCols := s.M, s.K
	if s.TransA {
		tA, aRows, aCols = blas.Trans, s.K, s.M
	}
	bRows, bCols := s.K, s.N
	if s.TransB {
		tB, bRows, bCols = blas.Trans, s.N, s.K
	}
	aSize, bSize, cSize := s.M*s.K, s.K*s.N, s.M*s.N
	for bt := 0; bt < s.Batch; bt++ {
		A := blas64.General{Rows: aRows, Cols: aCols, Stride: aCols, Data: a[bt*aSize : (bt+1)*aSize]}
		B := blas64.General{Rows: bRows, Cols: bCols, Stride: bCols, Data: b[bt*bSize : (bt+1)*bSize]}
		C := blas64.General{Rows: s.M, Cols: s.N, Stride: s.N, Data: c[bt*cSize : (bt+1)*cSize]}
		blas64.Gemm(tA, tB, 1, A, B, 0, C)
	}
	return c, nil
}
