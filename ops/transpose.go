package ops

import "github.com/vkseq/vkseq/gpu"

// Transpose records out[b, c, r] = x[b, r, c] for each of batch matrices: x a view of C columns
// of an F32 tensor whose batch·R rows hold batch b at rows b·R .. b·R+R−1 (e.g. Cols of an
// in_proj output [B, T, 2·Di] to get [B, Di, T] for the Mamba-1 scan and causal conv1d); out
// [batch, C, R] F32. out must not be x.T; x is not modified.
func Transpose(s *gpu.Stream, out *gpu.Tensor, x ColView, batch int) error {
	const op = "transpose"
	rows, stride, err := x.layout(op, "x", gpu.F32)
	if err != nil {
		return err
	}
	if batch < 1 || rows%batch != 0 {
		return shapeErr(op, "batch = %d, want ≥ 1 dividing x's %d rows", batch, rows)
	}
	r, c := rows/batch, x.N
	if err := checkTensor(op, "out", out, gpu.F32, batch, c, r); err != nil {
		return err
	}
	if out == x.T {
		return shapeErr(op, "out aliases x")
	}
	if err := sameDevice(op, s, out, x.T); err != nil {
		return err
	}
	if r == 0 {
		return nil
	}
	d := s.Device()
	k, err := kernel(d, "transpose", []gpu.Access{gpu.Read, gpu.Write}, 20)
	if err != nil {
		return err
	}
	groups := [3]uint32{uint32(ceilDiv(c, 8)), uint32(ceilDiv(r, 8)), uint32(batch)}
	if mx := d.Info().MaxWorkgroupCount; groups[0] > mx[0] || groups[1] > mx[1] || groups[2] > mx[2] {
		return shapeErr(op, "%d×%d×%d tiles of 8×8 exceed the device's grid %v", groups[0], groups[1], groups[2], mx)
	}
	return s.Dispatch(k, groups, gpu.Push(uint32(batch), uint32(r), uint32(c), uint32(stride), uint32(x.Start)), x.T, out)
}
