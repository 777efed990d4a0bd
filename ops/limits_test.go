package ops

import (
	"fmt"
	"math"
	"runtime/debug"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

// Tests at sizes past the device's limits: operands larger than one storage binding
// (MaxStorageBufferRange, 128 MiB on lavapipe) and grids beyond MaxWorkgroupCount. They skip on a
// device whose binding range holds the test's tensors (nothing to split there).

// pastBinding returns the number of F32 elements just past one binding of d (at least min), or
// skips on a device that binds more than 256 MiB at once.
func pastBinding(t *testing.T, d *gpu.Device, atLeast int) int {
	t.Helper()
	lim := d.Info().MaxStorageBufferRange
	if lim > 256<<20 {
		t.Skipf("the device binds %d bytes at once: a tensor past that is too large for this test", lim)
	}
	// Collect the large host buffers of each such test promptly (keeps the peak near 1 GiB).
	old := debug.SetGCPercent(20)
	t.Cleanup(func() { debug.SetGCPercent(old); debug.FreeOSMemory() })
	return max(int(lim/4)+1001, atLeast)
}

// chunkRelErr accumulates ‖got−want‖² and ‖want‖² over chunks (the references run chunk by chunk
// so that no float64 copy of a whole operand is made).
type chunkRelErr struct{ num, den float64 }

func (e *chunkRelErr) add(got []float32, want []float64) {
	for i, w := range want {
		d := float64(got[i]) - w
		e.num += d * d
		e.den += w * w
	}
}

func (e *chunkRelErr) check(t *testing.T, what string, tol float64) {
	t.Helper()
	rel := math.Sqrt(e.num / e.den)
	if !(rel <= tol) {
		t.Errorf("%s: relative error %.3g > %.0e", what, rel, tol)
	} else {
		t.Logf("%s: relative error %.3g", what, rel)
	}
}

// randF32 returns n normal float32 values.
func randF32(t *testing.T, n int) []float32 {
	r := newRand(t)
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func uploadF32(t *testing.T, d *gpu.Device, x []float32, shape ...int) *gpu.Tensor {
	t.Helper()
	ten, err := d.FromFloat32(x, shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	return ten
}

// gemmLimitCase runs one GEMM on random inputs and compares it with reference.GEMM.
func gemmLimitCase(t *testing.T, sh reference.GEMMShape, sharedB bool) {
	d := device(t)
	a := randF32(t, sh.Batch*sh.M*sh.K)
	nb := sh.Batch
	if sharedB {
		nb = 1
	}
	b := randF32(t, nb*sh.K*sh.N)
	ashape, bshape := []int{sh.Batch, sh.M, sh.K}, []int{nb, sh.K, sh.N}
	if sh.TransA {
		ashape = []int{sh.Batch, sh.K, sh.M}
	}
	if sh.TransB {
		bshape = []int{nb, sh.N, sh.K}
	}
	if sharedB {
		bshape = bshape[1:]
	}
	at := uploadF32(t, d, a, ashape...)
	bt := uploadF32(t, d, b, bshape...)
	ct := poisoned(t, d, gpu.F32, sh.Batch, sh.M, sh.N)
	s := stream(t, d)
	if err := GEMM(s, ct, at, bt, GEMMOptions{TransA: sh.TransA, TransB: sh.TransB}); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	got := read(t, ct)
	// The reference batch by batch (or in runs of rows for one large batch), in float64.
	one := sh
	one.Batch = 1
	var e chunkRelErr
	bOf := func(z int) []float64 {
		if sharedB {
			z = 0
		}
		return reference.ToFloat64(b[z*sh.K*sh.N : (z+1)*sh.K*sh.N])
	}
	for z := 0; z < sh.Batch; z++ {
		az := a[z*sh.M*sh.K : (z+1)*sh.M*sh.K]
		bz := bOf(z)
		if sh.TransA || sh.M*sh.K < 1<<20 {
			want, err := reference.GEMM(reference.ToFloat64(az), bz, one)
			if err != nil {
				t.Fatal(err)
			}
			e.add(got[z*sh.M*sh.N:], want)
			continue
		}
		const rows = 4096
		for m0 := 0; m0 < sh.M; m0 += rows {
			part := one
			part.M = min(rows, sh.M-m0)
			want, err := reference.GEMM(reference.ToFloat64(az[m0*sh.K:(m0+part.M)*sh.K]), bz, part)
			if err != nil {
				t.Fatal(err)
			}
			e.add(got[(z*sh.M+m0)*sh.N:], want)
		}
	}
	e.check(t, fmt.Sprintf("gemm %+v shared b %v", sh, sharedB), tolF32)
}

// TestGEMMPastBindingRange: a 2-D A of more than 128 MiB (split into runs of rows), vec4 and
// scalar paths.
func TestGEMMPastBindingRange(t *testing.T) {
	d := device(t)
	const k = 1024
	m := pastBinding(t, d, 0)/k + 1 // A [m, 1024] just past one binding
	for _, n := range []int{4, 3} {
		mm := m + (4-m%4)%4
		if n == 3 {
			mm++ // M and N not multiples of 4: the scalar path
		}
		t.Run(fmt.Sprintf("M=%d_N=%d", mm, n), func(t *testing.T) {
			gemmLimitCase(t, reference.GEMMShape{Batch: 1, M: mm, N: n, K: k}, false)
		})
	}
}

// TestGEMMBatchPastGrid: Batch = 70000 > 65535 workgroups along z, with A [70000, 16, 32] of
// 143 MB past one binding too (split into runs of batches), batched and shared B.
func TestGEMMBatchPastGrid(t *testing.T) {
	d := device(t)
	if z := d.Info().MaxWorkgroupCount[2]; z >= 70000 {
		t.Skipf("the device allows %d workgroups along z", z)
	}
	pastBinding(t, d, 0)
	t.Run("batched_b", func(t *testing.T) {
		gemmLimitCase(t, reference.GEMMShape{Batch: 70000, M: 16, N: 4, K: 32}, false)
	})
	t.Run("shared_b_trans", func(t *testing.T) {
		gemmLimitCase(t, reference.GEMMShape{Batch: 70000, M: 3, N: 5, K: 7, TransA: true, TransB: true}, true)
	})
}

// TestGEMMSplitPlans exercises every split of GEMM's planner on small tensors with the binding
// range lowered (testBindLimit): runs of batches with unaligned batch strides, runs of rows, shared
// and transposed operands; and the refusals where no split helps.
func TestGEMMSplitPlans(t *testing.T) {
	cases := []struct {
		sh      reference.GEMMShape
		shared  bool
		limit   uint64
		refused bool
	}{
		{reference.GEMMShape{Batch: 37, M: 5, N: 7, K: 3}, false, 1 << 10, false},
		{reference.GEMMShape{Batch: 37, M: 5, N: 7, K: 3, TransA: true, TransB: true}, true, 1 << 10, false},
		{reference.GEMMShape{Batch: 9, M: 16, N: 8, K: 12}, false, 512, false},
		{reference.GEMMShape{Batch: 1, M: 301, N: 5, K: 33}, false, 4 << 10, false},
		{reference.GEMMShape{Batch: 2, M: 64, N: 8, K: 16}, true, 2 << 10, false},
		{reference.GEMMShape{Batch: 1, M: 301, N: 5, K: 33, TransA: true}, false, 4 << 10, true},
		{reference.GEMMShape{Batch: 1, M: 8, N: 300, K: 40}, true, 4 << 10, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%+v_shared%v_limit%d", c.sh, c.shared, c.limit), func(t *testing.T) {
			old := testBindLimit
			testBindLimit = c.limit
			defer func() { testBindLimit = old }()
			if !c.refused {
				gemmLimitCase(t, c.sh, c.shared)
				return
			}
			d := device(t)
			a := poisoned(t, d, gpu.F32, c.sh.Batch, c.sh.M, c.sh.K)
			if c.sh.TransA {
				a = poisoned(t, d, gpu.F32, c.sh.Batch, c.sh.K, c.sh.M)
			}
			b := poisoned(t, d, gpu.F32, c.sh.K, c.sh.N)
			out := poisoned(t, d, gpu.F32, c.sh.Batch, c.sh.M, c.sh.N)
			err := GEMM(stream(t, d), out, a, b, GEMMOptions{TransA: c.sh.TransA})
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
		})
	}
}

// TestEltwisePastBindingRange: Mul in place over more than 128 MiB (and a length not a multiple
// of 4), and Scale with the split planned for a lowered binding range.
func TestEltwisePastBindingRange(t *testing.T) {
	d := device(t)
	n := pastBinding(t, d, 0) | 1
	a, b := randF32(t, n), randF32(t, n)
	at, bt := uploadF32(t, d, a, n), uploadF32(t, d, b, n)
	s := stream(t, d)
	if err := Mul(s, at, at, bt); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	got := read(t, at)
	var e chunkRelErr
	const chunk = 1 << 20
	for i := 0; i < n; i += chunk {
		j := min(i+chunk, n)
		want, err := reference.Mul(reference.ToFloat64(a[i:j]), reference.ToFloat64(b[i:j]))
		if err != nil {
			t.Fatal(err)
		}
		e.add(got[i:j], want)
	}
	e.check(t, fmt.Sprintf("mul of %d elements", n), tolF32)
}

// TestRowsPastBindingRange: RowSum and RMSNorm (in place) over x [R, 1000] of more than 128 MiB,
// rows of a length not a multiple of the alignment.
func TestRowsPastBindingRange(t *testing.T) {
	d := device(t)
	const c = 1000
	r := pastBinding(t, d, 0)/c + 1
	x, w := randF32(t, r*c), randF32(t, c)
	xt, wt := uploadF32(t, d, x, r, c), uploadF32(t, d, w, c)
	sum := poisoned(t, d, gpu.F32, r)
	s := stream(t, d)
	if err := RowSum(s, sum, xt); err != nil {
		t.Fatal(err)
	}
	if err := RMSNorm(s, xt, xt, wt, 1e-5); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	gotSum, gotNorm := read(t, sum), read(t, xt)
	var es, en chunkRelErr
	w64 := reference.ToFloat64(w)
	const rows = 4096
	for r0 := 0; r0 < r; r0 += rows {
		nr := min(rows, r-r0)
		xr := reference.ToFloat64(x[r0*c : (r0+nr)*c])
		ws, err := reference.RowSum(xr, nr, c)
		if err != nil {
			t.Fatal(err)
		}
		es.add(gotSum[r0:], ws)
		wn, err := reference.RMSNorm(xr, w64, nr, c, float64(float32(1e-5)))
		if err != nil {
			t.Fatal(err)
		}
		en.add(gotNorm[r0*c:], wn)
	}
	es.check(t, fmt.Sprintf("rowsum of [%d, %d]", r, c), tolF32)
	en.check(t, fmt.Sprintf("rmsnorm of [%d, %d]", r, c), tolF32)
}

// TestEltwiseRowsSplitPlans runs the element-wise and row splits on small tensors with the binding
// range lowered, at lengths that leave a short last part.
func TestEltwiseRowsSplitPlans(t *testing.T) {
	d := device(t)
	old := testBindLimit
	testBindLimit = 1 << 10
	defer func() { testBindLimit = old }()
	for _, n := range []int{1001, 4096, 4100} {
		x := randF32(t, n)
		xt := uploadF32(t, d, x, n)
		out := poisoned(t, d, gpu.F32, n)
		s := stream(t, d)
		if err := Unary(s, out, xt, SiLU); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		checkErr(t, fmt.Sprintf("silu n=%d", n), read(t, out), reference.SiLU(reference.ToFloat64(x)), tolF32)
	}
	for _, sh := range [][2]int{{97, 3}, {40, 33}, {9, 60}} {
		r, c := sh[0], sh[1]
		x := randF32(t, r*c)
		xt := uploadF32(t, d, x, r, c)
		sum, norm := poisoned(t, d, gpu.F32, r), poisoned(t, d, gpu.F32, r, c)
		s := stream(t, d)
		if err := RowSum(s, sum, xt); err != nil {
			t.Fatal(err)
		}
		if err := L2Norm(s, norm, xt, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		x64 := reference.ToFloat64(x)
		ws, _ := reference.RowSum(x64, r, c)
		wn, _ := reference.L2Norm(x64, r, c, 1e-6)
		checkErr(t, fmt.Sprintf("rowsum [%d,%d]", r, c), read(t, sum), ws, tolF32)
		checkErr(t, fmt.Sprintf("l2norm [%d,%d]", r, c), read(t, norm), wn, tolF32)
	}
	// A row longer than the lowered range is refused with an error, not a bad binding.
	xt := poisoned(t, d, gpu.F32, 2, 1000)
	if err := L2Norm(stream(t, d), xt, xt, 0); err == nil {
		t.Error("a row of 4000 bytes accepted with a 1024-byte binding range")
	} else {
		t.Log(err)
	}
}
