package ops

import (
	"fmt"
	"os"
	"slices"

	"github.com/vkseq/vkseq/gpu"
)

const linearLocal = 64

// Linear records out = x · weightᵀ + bias (torch nn.Linear): out[m, n] = Σ_k x[m, k]·weight[n, k]
// + bias[n]. Shapes: x [..., K] F32 with M rows (the product of its other dimensions); weight
// [N, K] F32 or F16 (F16 needs Float16Storage); bias [N] F32 or nil; out [..., N] F32 with x's
// leading dimensions (or [M, N]). Any M ≥ 0: few rows (decode) stream each weight row once per
// block of rows. Tensors larger than the device's binding range (an LM head of 50k×768 f32) are
// bound in windows. out must not alias x; x, weight and bias are not modified.
func Linear(s *gpu.Stream, out, x, weight, bias *gpu.Tensor) error {
	return linear(s, out, x, weight, bias, false)
}

// LinearGELU records out = gelu(x · weightᵀ + bias) (the exact erf GELU) with Linear's shapes and
// rules. Where Linear runs as one GEMM the GELU is applied in the GEMM's epilogue (no extra pass
// over out); otherwise it follows as AddBias's GELU pass.
func LinearGELU(s *gpu.Stream, out, x, weight, bias *gpu.Tensor) error {
	return linear(s, out, x, weight, bias, true)
}

func linear(s *gpu.Stream, out, x, weight, bias *gpu.Tensor, gelu bool) error {
	const op = "linear"
	if x == nil || weight == nil || out == nil {
		return shapeErr(op, "out, x and weight must not be nil")
	}
	ws := weight.Shape()
	if len(ws) != 2 || ws[0] < 1 || ws[1] < 1 {
		return shapeErr(op, "weight has shape %v, want [N, K] with N, K ≥ 1", ws)
	}
	n, k := ws[0], ws[1]
	xs := x.Shape()
	if x.DType() != gpu.F32 || len(xs) == 0 || xs[len(xs)-1] != k {
		return shapeErr(op, "x is %v, want f32 [..., %d] (K of weight %v)", x, k, ws)
	}
	m := x.Len() / k
	want := append(xs[:len(xs)-1:len(xs)-1], n)
	if !(checkTensor(op, "out", out, gpu.F32, want...) == nil || checkTensor(op, "out", out, gpu.F32, m, n) == nil) {
		return shapeErr(op, "out is %v, want f32 %v", out, want)
	}
	if bias != nil {
		if err := checkTensor(op, "bias", bias, gpu.F32, n); err != nil {
			return err
		}
	}
	if out == x {
		return shapeErr(op, "out aliases x")
	}
	if err := sameDevice(op, s, out, x, weight, bias); err != nil {
		return err
	}
	if _, err := weightModule(op, "weight", "linear_gemv", weight); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	if m >= linearGEMMRows {
		if ok, err := linearGEMM(s, out, x, weight, bias, m, n, k, gelu); ok || err != nil {
			return err
		}
	}
	if gelu { // unfused: Linear without the bias, then bias and GELU in one pass
		if err := linearGEMV(s, out, x, weight, nil, m, n, k); err != nil {
			return err
		}
		return AddBias(s, out, out, bias, true)
	}
	return linearGEMV(s, out, x, weight, bias, m, n, k)
}

// linearGEMMRows is the number of rows from which Linear runs as a GEMM (register tiles reuse
// each weight element for many rows) rather than streaming the weight per block of rows.
const linearGEMMRows = 16

// linearGEMM records Linear as GEMM(x, Wᵀ) with the bias in the GEMM's epilogue (an f16 weight
// read by the same register-tiled kernel built with a float16 B). A weight beyond a binding goes
// in blocks of rows, each into a stream temp that linear_scatter places in out's columns, adding
// the bias. It reports false (and
// records nothing) when x or out exceed a binding or the blocks cannot be aligned.
// With gelu the GELU follows the bias: in the epilogue for one block, else as an AddBias pass.
func linearGEMM(s *gpu.Stream, out, x, weight, bias *gpu.Tensor, m, n, k int, gelu bool) (bool, error) {
	d := s.Device()
	limit := bindRange(d)
	if x.Bytes() > limit || out.Bytes() > limit {
		return false, nil
	}
	size := weight.DType().Size()
	nb := n
	if weight.Bytes() > limit {
		// Blocks of nb weight rows: nb·k·size bytes a multiple of the binding alignment, the
		// block and the GEMM's output block within a binding.
		step := int(d.Info().StorageAlignment) / gcd(int(d.Info().StorageAlignment), k*size)
		nb = min(int(limit)/(size*k), int(limit)/(4*m)) / step * step
		if nb < 1 {
			return false, nil
		}
	}
	x2, err := x.Reshape(m, k)
	if err != nil {
		return true, err
	}
	o2, err := out.Reshape(m, n)
	if err != nil {
		return true, err
	}
	hasBias := uint32(1)
	if bias == nil {
		bias, hasBias = x, 0
	}
	scatter, err := kernel(d, "linear_scatter", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 20, eltLocal)
	if err != nil {
		return true, err
	}
	for n0 := 0; n0 < n; n0 += nb {
		cols := min(nb, n-n0)
		w := weight
		if cols != n {
			if w, err = weight.Window(n0*k, cols*k); err != nil {
				return true, err
			}
		}
		if w, err = w.Reshape(cols, k); err != nil {
			return true, err
		}
		if cols == n { // one block: the bias in the GEMM's epilogue, straight into out
			if hasBias == 0 {
				bias = nil
			}
			if err := gemmWeight(s, o2, x2, w, bias, m, n, k, gelu); err != nil {
				return true, fmt.Errorf("linear: %w", err)
			}
			return true, nil
		}
		dst, err := s.Temp(gpu.F32, m, cols)
		if err != nil {
			return true, err
		}
		if err := gemmWeight(s, dst, x2, w, nil, m, cols, k, false); err != nil {
			return true, fmt.Errorf("linear: %w", err)
		}
		groups, err := group1D(d, m*cols, eltLocal)
		if err != nil {
			return true, err
		}
		if err := s.Dispatch(scatter, groups, gpu.Push(uint32(m), uint32(cols), uint32(n), uint32(n0), hasBias), dst, bias, o2); err != nil {
			return true, fmt.Errorf("linear: %w", err)
		}
	}
	if gelu {
		return true, AddBias(s, out, out, nil, true)
	}
	return true, nil
}

// linearWideKBMinK is the least k from which Linear's GEMM on CPU devices takes a k block of 8 in
// its row-by-row loop rather than 4: Vocos's pointwise convs and head (k = 512, 1536) ran 12-15%
// faster (10 s of audio: 0.51-0.55 → 0.45-0.46 s on lavapipe). Each variant builds in about 20 s,
// once per machine (Mesa keeps compiled variants in its on-disk shader cache), so ops.GEMM and
// shorter k keep 4.
const linearWideKBMinK = 512

// gemmWeight records c [m, n] = a [m, k] · wᵀ (+ bias [n] when bias is not nil) for a weight
// block w [n, k] F32 or F16, with the register-tiled GEMM kernel built for Linear (linear_gemm,
// linear_gemm_f16: B read transposed, float16 widened as it is read, the bias added in the
// epilogue, then the exact GELU when gelu; their texel builds on CPU devices, see gemmTexelOK).
func gemmWeight(s *gpu.Stream, c, a, w, bias *gpu.Tensor, m, n, k int, gelu bool) error {
	d := s.Device()
	mod := "linear_gemm"
	if w.DType() == gpu.F16 {
		mod = "linear_gemm_f16"
	}
	hasBias := bias != nil
	if !hasBias {
		bias = a
	}
	vec := m%4 == 0 && n%4 == 0 && k%4 == 0
	access := []gpu.Access{gpu.Read, gpu.Read, gpu.Write, gpu.Read}
	if tv := gemmTexelVec(false, true, m, n, k); gemmTexelOK(d.Info(), tv, a, w) {
		vec, mod = tv, mod+"_texel"
		access[0], access[1] = gpu.Read|gpu.Texel, gpu.Read|gpu.Texel
	}
	tile := gemmTileFor(d.Info(), vec)
	kb := tile.rowwise(vec, k)
	if kb == 4 && cpuTiles(d.Info()) && k%8 == 0 && k >= linearWideKBMinK {
		kb = 8
	}
	kern, err := kernel(d, mod, access, 24,
		uint32(tile.LX), uint32(tile.LY), uint32(tile.TM), uint32(tile.TN), 0, 1, b2u(vec), b2u(hasBias),
		b2u(kb > 0), uint32(max(kb, 4)), b2u(gelu))
	if err != nil {
		return err
	}
	groups := [3]uint32{uint32(ceilDiv(n, tile.LX*tile.TN)), uint32(ceilDiv(m, tile.LY*tile.TM)), 1}
	return s.Dispatch(kern, groups, gpu.Push(uint32(m), uint32(n), uint32(k), uint32(m*k), 0, uint32(m*n)), a, w, c, bias)
}

// gemvTexel lets CPU devices take linear_gemv_f16t (tests turn it off to compare).
var gemvTexel = os.Getenv("VKSEQ_GEMV_TEXEL") != "0"

// gemvTPL is linear_gemv_f16t's consecutive texels per lane and step: 2 read 10-20% faster than 1
// at N=32000 K=1024 and N=24576 K=1536 (TestLinearGEMVExplore, variants f16:1x16t1/t2, load 4).
var gemvTPL = 2

var (
	gemvAccess      = []gpu.Access{gpu.Read, gpu.Read, gpu.Read, gpu.Write}
	gemvTexelAccess = []gpu.Access{gpu.Read | gpu.Texel, gpu.Read | gpu.Texel, gpu.Read, gpu.Write}
)

// gemvTexelNR is linear_gemv_f16t's weight rows per workgroup for m rows of x and n weight rows:
// 16 (4 with several rows of x, which multiply the accumulators), halved until the rows make
// gemvMinGroups workgroups. Its workgroups split K, so a small n keeps more rows per workgroup
// than linear_gemv's plan: at N=80 K=1536 (Mamba's x_proj) 16 rows took 71 µs, 2 rows 81-97.
func gemvTexelNR(m, n int) int {
	nr := 16
	if m > 1 {
		nr = 4
	}
	if gemvForce.NR > 0 {
		nr = gemvForce.NR
	}
	for nr > 1 && ceilDiv(n, nr) < gemvMinGroups {
		nr /= 2
	}
	return nr
}

// gemvTexelOK reports whether Linear's few-rows product takes linear_gemv_f16t: float16 weights
// on a CPU device (lavapipe: texel fetches are gathers, storage-buffer loads lane-by-lane loops)
// with subgroup arithmetic, K a multiple of 8 and x and the weight bindable as texel buffers from
// texel boundaries (xb, wb: their elements' offsets in the bindings). K must give every lane of
// the subgroup gemvTPL texels of a row: at N=1536 K=48 (Mamba's dt_proj) the split-K kernel took
// 140-181 µs against 78 µs for linear_gemv, whose lanes own rows.
func gemvTexelOK(info gpu.DeviceInfo, dt gpu.DType, k, xb, wb int, x, w *gpu.Tensor) bool {
	return gemvTexel && dt == gpu.F16 && cpuTiles(info) && info.SubgroupSize > 0 && slices.Contains(info.SubgroupOps, "arithmetic") &&
		k%8 == 0 && k >= 8*int(info.SubgroupSize)*max(gemvTPL, 1) && xb%4 == 0 && wb%8 == 0 && x.TexelBindable() && w.TexelBindable()
}

// linearGEMV records Linear through linear_gemv (shaped by gemvPlanFor), in blocks of rows and of
// weight rows that fit the binding range.
func linearGEMV(s *gpu.Stream, out, x, weight, bias *gpu.Tensor, m, n, k int) error {
	d := s.Device()
	info := d.Info()
	limit := bindRange(d)
	slack := uint64(info.StorageAlignment) + 16
	plan := gemvPlanFor(info, weight.DType(), m, n)
	mod := "linear_gemv"
	if weight.DType() == gpu.F16 {
		mod = f16Modules[mod]
	}
	mr, cover := plan.MR, plan.Local*plan.NR // rows of x and weight rows per workgroup
	// Rows of x and out per block, weight rows per block.
	mb := min(m, int((limit-slack)/uint64(4*max(k, n))), int(info.MaxWorkgroupCount[1])*mr)
	nb := min(n, int((limit-slack)/uint64(weight.DType().Size()*k)), int(info.MaxWorkgroupCount[0])*cover)
	if mb < 1 || nb < 1 {
		return shapeErr("linear", "a row of K = %d or N = %d does not fit one binding of %d bytes", k, n, limit)
	}
	hasBias := uint32(1)
	if bias == nil {
		bias, hasBias = x, 0
	}
	for m0 := 0; m0 < m; m0 += mb {
		rows := min(mb, m-m0)
		xv, xb, err := elemWindow(x, m0*k, rows*k, limit)
		if err != nil {
			return err
		}
		ov, ob, err := elemWindow(out, m0*n, rows*n, limit)
		if err != nil {
			return err
		}
		for n0 := 0; n0 < n; n0 += nb {
			cols := min(nb, n-n0)
			wv, wb, err := elemWindow(weight, n0*k, cols*k, limit)
			if err != nil {
				return err
			}
			vec := k%4 == 0 && xb%4 == 0 && wb%4 == 0
			km, acc, local, per, nr := mod, gemvAccess, plan.Local, cover, plan.NR
			if gemvTexelOK(info, weight.DType(), k, xb, wb, xv, wv) {
				nr = gemvTexelNR(m, cols)
				km, acc, local, per = "linear_gemv_f16t", gemvTexelAccess, int(info.SubgroupSize), nr
			}
			spec := []uint32{uint32(local), uint32(mr), b2u(vec), uint32(nr)}
			if km == "linear_gemv_f16t" {
				spec = append(spec, uint32(max(gemvTPL, 1)))
			}
			kern, err := kernel(d, km, acc, 36, spec...)
			if err != nil {
				return err
			}
			groups := [3]uint32{uint32(ceilDiv(cols, per)), uint32(ceilDiv(rows, mr)), 1}
			push := gpu.Push(uint32(rows), uint32(cols), uint32(k), hasBias, uint32(xb), uint32(wb), uint32(ob), uint32(n), uint32(n0))
			if err := s.Dispatch(kern, groups, push, xv, wv, bias, ov); err != nil {
				return fmt.Errorf("linear: %w", err)
			}
		}
	}
	return nil
}

// elemWindow binds elements [start, start+n) of t (any dtype) through a window starting at an
// aligned element at or before start, and returns the view and start's offset in it; a tensor
// that fits the binding range is bound whole.
func elemWindow(t *gpu.Tensor, start, n int, limit uint64) (*gpu.Tensor, int, error) {
	if t.Bytes() <= limit {
		return t, start, nil
	}
	size := t.DType().Size()
	align := max(int(t.Device().Info().StorageAlignment)/size, 1)
	a := start - start%align
	v, err := t.Window(a, start-a+n)
	return v, start - a, err
}
