package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// GEMMOptions are the options of GEMM.
type GEMMOptions struct {
	TransA bool // A is stored [.., K, M]
	TransB bool // B is stored [.., N, K]
	tile   *gemmTile
}

// GEMM records out = op(A)·op(B) in float32 (C in the shapes below).
//
// Shapes: A [M,K] (or [K,M] with TransA), B [K,N] (or [N,K] with TransB), C [M,N]; or batched,
// A [Batch,M,K], C [Batch,M,N] with B either [Batch,K,N] or a 2-D B shared by every batch.
// All tensors are F32. C is overwritten. Every dimension may be any size ≥ 1 (M, N or K not a
// multiple of the tile take a bounds-checked path).
func GEMM(s *gpu.Stream, out, a, b *gpu.Tensor, opt GEMMOptions) error {
	const op = "gemm"
	for _, x := range []struct {
		n string
		t *gpu.Tensor
	}{{"a", a}, {"b", b}, {"out", out}} {
		if x.t == nil {
			return shapeErr(op, "%s is nil", x.n)
		}
		if x.t.DType() != gpu.F32 {
			return shapeErr(op, "%s has dtype %v, want f32", x.n, x.t.DType())
		}
	}
	as, bs := a.Shape(), b.Shape()
	if len(as) != 2 && len(as) != 3 {
		return shapeErr(op, "a has shape %v, want [M,K] or [Batch,M,K]", as)
	}
	batch := 1
	if len(as) == 3 {
		batch = as[0]
		as = as[1:]
	}
	m, k := as[0], as[1]
	if opt.TransA {
		m, k = k, m
	}
	sharedB := len(bs) == 2
	switch {
	case len(bs) == 3 && bs[0] != batch:
		return shapeErr(op, "b has batch %d, a has %d", bs[0], batch)
	case len(bs) == 3:
		bs = bs[1:]
	case len(bs) != 2:
		return shapeErr(op, "b has shape %v, want [K,N] or [Batch,K,N]", b.Shape())
	}
	kb, n := bs[0], bs[1]
	if opt.TransB {
		kb, n = n, kb
	}
	if kb != k {
		return shapeErr(op, "inner dimensions differ: op(a) is [%d,%d], op(b) is [%d,%d]", m, k, kb, n)
	}
	want := []int{m, n}
	if len(a.Shape()) == 3 {
		want = []int{batch, m, n}
	}
	if err := checkTensor(op, "out", out, gpu.F32, want...); err != nil {
		return err
	}
	if m == 0 || n == 0 || batch == 0 {
		return nil
	}
	if k == 0 {
		return s.Fill(out, 0)
	}
	d := s.Device()
	vec := m%4 == 0 && n%4 == 0 && k%4 == 0
	tile := gemmTileFor(d.Info(), vec)
	if opt.tile != nil {
		tile = *opt.tile
	}
	if opt.TransA && tile.TM%4 != 0 {
		vec = false
	}
	kern, err := kernel(d, "gemm", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 24,
		uint32(tile.LX), uint32(tile.LY), uint32(tile.TM), uint32(tile.TN), b2u(opt.TransA), b2u(opt.TransB), b2u(vec))
	if err != nil {
		return err
	}
	sb := k * n
	if sharedB {
		sb = 0
	}
	groups := [3]uint32{uint32(ceilDiv(n, tile.LX*tile.TN)), uint32(ceilDiv(m, tile.LY*tile.TM)), uint32(batch)}
	push := gpu.Push(uint32(m), uint32(n), uint32(k), uint32(m*k), uint32(sb), uint32(m*n))
	if err := s.Dispatch(kern, groups, push, a, b, out); err != nil {
		return fmt.Errorf("gemm: %w", err)
	}
	return nil
}
