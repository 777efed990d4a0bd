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
// multiple of the tile take a bounds-checked path). Tensors larger than one storage binding
// (gpu.DeviceInfo.MaxStorageBufferRange) and batches beyond the device's workgroup count are split
// into several dispatches: by batches, or by rows of A and C when one batch's matrices do not fit.
// Errors wrapping gpu.ErrUnsupported remain where no split helps: a transposed A or a B of one
// batch larger than one binding, or N beyond the grid's x axis (N > 65535·tile width).
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
	sb := k * n
	if sharedB {
		sb = 0
	}
	// The texel build where every dispatch can take it, else the storage-buffer kernel.
	texel := gemmTexel && cpuTiles(d.Info())
	for {
		vec := m%4 == 0 && n%4 == 0 && k%4 == 0
		if texel {
			vec = gemmTexelVec(opt.TransA, opt.TransB, m, n, k)
		}
		tile := gemmTileFor(d.Info(), vec)
		if opt.tile != nil {
			tile = *opt.tile
		}
		if opt.TransA && tile.TM%4 != 0 {
			vec = false
		}
		g := gemmGrid{m: m, n: n, k: k, batch: batch, sa: m * k, sb: sb, sc: m * n, rowsPerGroup: tile.LY * tile.TM, colsPerGroup: tile.LX * tile.TN}
		parts, err := g.plan(d, opt.TransA, a, b, out)
		if err != nil {
			return err
		}
		if texel {
			for _, pt := range parts {
				texel = texel && gemmTexelOK(d.Info(), vec, pt.a, pt.b)
			}
			if !texel {
				continue
			}
		}
		kblk := tile.rowwise(vec && !opt.TransA, k)
		name, access := "gemm", gemmAccess
		if texel {
			name, access = "gemm_texel", gemmTexelAccess
		}
		kern, err := kernel(d, name, access, 24,
			uint32(tile.LX), uint32(tile.LY), uint32(tile.TM), uint32(tile.TN), b2u(opt.TransA), b2u(opt.TransB), b2u(vec),
			0, b2u(kblk > 0), uint32(max(kblk, 4)))
		if err != nil {
			return err
		}
		for _, pt := range parts {
			groups := [3]uint32{uint32(ceilDiv(n, g.colsPerGroup)), uint32(ceilDiv(pt.m, g.rowsPerGroup)), uint32(pt.batch)}
			push := gpu.Push(uint32(pt.m), uint32(n), uint32(k), uint32(g.sa), uint32(sb), uint32(g.sc))
			if err := s.Dispatch(kern, groups, push, pt.a, pt.b, pt.c); err != nil {
				return fmt.Errorf("gemm: %w", err)
			}
		}
		return nil
	}
}

// gemmTexel lets CPU devices take the texel builds of the GEMM kernels (gemm_texel,
// linear_gemm_texel, linear_gemm_f16_texel); tests turn it off to compare.
var gemmTexel = true

var (
	gemmAccess      = []gpu.Access{gpu.Read, gpu.Read, gpu.Write}
	gemmTexelAccess = []gpu.Access{gpu.Read | gpu.Texel, gpu.Read | gpu.Texel, gpu.Write}
)

// gemmTexelOK reports whether a GEMM dispatch reads A and B through texel buffers: on CPU devices
// (lavapipe: a texel fetch is a gather, a storage-buffer load a loop over the lanes), on the vec4
// path (see gemmTexelVec: every vec4 of A and B one texel of a binding that starts on a texel
// boundary) with both bindable as texel buffers.
func gemmTexelOK(info gpu.DeviceInfo, vec bool, a, b *gpu.Tensor) bool {
	return gemmTexel && vec && cpuTiles(info) && a.TexelBindable() && b.TexelBindable()
}

// gemmTexelVec reports whether the texel builds take the vec4 path for a problem: the vec4 reads
// of A and B along K need K a multiple of 4, B read along N (not transposed) N too, and a
// transposed A M too (its vec4s run along M); M is free otherwise (rows past M are clamped on
// reading, skipped on writing) and N is free with B transposed (C is written by scalars unless N
// is a multiple of 4).
func gemmTexelVec(transA, transB bool, m, n, k int) bool {
	if transA {
		return m%4 == 0 && n%4 == 0 && k%4 == 0
	}
	return k%4 == 0 && (transB || n%4 == 0)
}

// gemmGrid is a GEMM's problem as the shader sees it: element strides between batches (sb = 0 for
// a shared B) and the rows and columns of C one workgroup covers.
type gemmGrid struct {
	m, n, k, batch             int
	sa, sb, sc                 int
	rowsPerGroup, colsPerGroup int
}

// gemmPart is one dispatch: batch batches of m rows of C, bound through a, b and c.
type gemmPart struct {
	batch, m int
	a, b, c  *gpu.Tensor
}

// plan splits a GEMM into dispatches whose bindings each fit one storage binding and whose grids
// fit the device's workgroup counts: runs of whole batches (windows starting at aligned batch
// boundaries), or, when one batch's matrices do not fit, runs of rows of A and C (A not
// transposed; B of one batch must fit one binding).
func (g gemmGrid) plan(d *gpu.Device, transA bool, a, b, c *gpu.Tensor) ([]gemmPart, error) {
	limit := bindRange(d)
	maxG := d.Info().MaxWorkgroupCount
	if gx := ceilDiv(g.n, g.colsPerGroup); gx > int(maxG[0]) {
		return nil, fmt.Errorf("%w: gemm: N = %d needs %d workgroups along x, the device allows %d", gpu.ErrUnsupported, g.n, gx, maxG[0])
	}
	gy := ceilDiv(g.m, g.rowsPerGroup)
	if a.Bytes() <= limit && b.Bytes() <= limit && c.Bytes() <= limit && g.batch <= int(maxG[2]) && gy <= int(maxG[1]) {
		return []gemmPart{{batch: g.batch, m: g.m, a: a, b: b, c: c}}, nil
	}
	align := alignElems(d, gpu.F32)
	lim := int(limit / 4) // elements per binding
	if gy <= int(maxG[1]) {
		// Runs of nz batches, nz a multiple of q so that every run's windows start aligned.
		q := lcm(lcm(stepAlign(g.sa, align), stepAlign(g.sb, align)), stepAlign(g.sc, align))
		nz := min(lim/g.sa, lim/g.sc, int(maxG[2]))
		if g.sb > 0 {
			nz = min(nz, lim/g.sb)
		}
		nz -= nz % q
		if nz >= 1 && (g.sb > 0 || b.Bytes() <= limit) {
			var parts []gemmPart
			for z0 := 0; z0 < g.batch; z0 += nz {
				pt := gemmPart{batch: min(nz, g.batch-z0), m: g.m, b: b}
				var err error
				if pt.a, err = window("gemm", a, z0*g.sa, pt.batch*g.sa); err != nil {
					return nil, err
				}
				if pt.c, err = window("gemm", c, z0*g.sc, pt.batch*g.sc); err != nil {
					return nil, err
				}
				if g.sb > 0 {
					if pt.b, err = window("gemm", b, z0*g.sb, pt.batch*g.sb); err != nil {
						return nil, err
					}
				}
				parts = append(parts, pt)
			}
			return parts, nil
		}
	}
	// Runs of rows of one batch at a time.
	bBytes := uint64(g.k*g.n) * 4
	switch {
	case transA:
		return nil, fmt.Errorf("%w: gemm: a transposed ([K,M] = [%d,%d] per batch) must fit one binding (%d bytes) when one batch's matrices do not",
			gpu.ErrUnsupported, g.k, g.m, limit)
	case bBytes > limit:
		return nil, fmt.Errorf("%w: gemm: b of one batch ([K,N] = [%d,%d], %d bytes) is more than %s binds at once (%d bytes)",
			gpu.ErrUnsupported, g.k, g.n, bBytes, d.Info().Name, limit)
	case g.batch > 1 && (stepAlign(g.sa, align) > 1 || stepAlign(g.sc, align) > 1 || stepAlign(g.sb, align) > 1):
		return nil, fmt.Errorf("%w: gemm: batches of M·K = %d or M·N = %d elements not aligned to %d bytes cannot be split into windows",
			gpu.ErrUnsupported, g.sa, g.sc, d.Info().StorageAlignment)
	}
	step := lcm(lcm(stepAlign(g.k, align), stepAlign(g.n, align)), 4)
	mb := min(lim/g.k, lim/g.n, int(maxG[1])*g.rowsPerGroup)
	mb -= mb % step
	if mb < 1 {
		return nil, fmt.Errorf("%w: gemm: %d rows of a ([M,K] with K = %d) or c (N = %d) are more than %s binds at once (%d bytes)",
			gpu.ErrUnsupported, step, g.k, g.n, d.Info().Name, limit)
	}
	var parts []gemmPart
	for z := 0; z < g.batch; z++ {
		bz := b
		if g.sb > 0 || b.Bytes() > limit {
			var err error
			if bz, err = window("gemm", b, z*g.sb, g.k*g.n); err != nil {
				return nil, err
			}
		}
		for m0 := 0; m0 < g.m; m0 += mb {
			pt := gemmPart{batch: 1, m: min(mb, g.m-m0), b: bz}
			var err error
			if pt.a, err = window("gemm", a, z*g.sa+m0*g.k, pt.m*g.k); err != nil {
				return nil, err
			}
			if pt.c, err = window("gemm", c, z*g.sc+m0*g.n, pt.m*g.n); err != nil {
				return nil, err
			}
			parts = append(parts, pt)
		}
	}
	return parts, nil
}
