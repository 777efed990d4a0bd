package ops

import "github.com/vkseq/vkseq/gpu"

// SwiGLU records out = silu(gate) ⊙ up, the gated MLP activation. Shapes: out [M, I] F32 (or any
// shape with M·I elements whose last dimension is I); gate and up views of I columns of F32
// tensors with M rows each, e.g. Cols(proj, 0, I) and Cols(proj, I, I) of one fused gate_proj
// output [M, 2I], or Whole(gate), Whole(up). out must not overlap gate or up; they are not modified.
func SwiGLU(s *gpu.Stream, out *gpu.Tensor, gate, up ColView) error {
	const op = "swiglu"
	gm, gs, err := gate.layout(op, "gate", gpu.F32)
	if err != nil {
		return err
	}
	um, us, err := up.layout(op, "up", gpu.F32)
	if err != nil {
		return err
	}
	if gate.N != up.N || gm != um {
		return shapeErr(op, "gate is %d×%d, up is %d×%d: want the same rows and columns", gm, gate.N, um, up.N)
	}
	m, i := gm, gate.N
	if out == nil || out.DType() != gpu.F32 || out.Len() != m*i || out.Shape()[len(out.Shape())-1] != i {
		return shapeErr(op, "out is %v, want f32 [%d, %d]", out, m, i)
	}
	if out == gate.T || out == up.T {
		return shapeErr(op, "out aliases gate or up")
	}
	if err := sameDevice(op, s, out, gate.T, up.T); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	d := s.Device()
	vec := i%4 == 0 && gs%4 == 0 && us%4 == 0 && gate.Start%4 == 0 && up.Start%4 == 0
	k, err := kernel(d, "swiglu", []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 24, eltLocal, b2u(vec))
	if err != nil {
		return err
	}
	groups := rowGrid(d, i, m)
	return s.Dispatch(k, groups, gpu.Push(uint32(m), uint32(i), uint32(gs), uint32(gate.Start), uint32(us), uint32(up.Start)), gate.T, up.T, out)
}

// rowGrid is the grid of the row-wise element kernels (swiglu, activation): workgroups of eltLocal
// invocations of 4 columns each tile the cols columns in x, and y takes rows y, y + gridY, ...
func rowGrid(d *gpu.Device, cols, rows int) [3]uint32 {
	return [3]uint32{uint32(ceilDiv(cols, 4*eltLocal)), uint32(min(rows, int(d.Info().MaxWorkgroupCount[1]))), 1}
}
