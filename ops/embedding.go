package ops

import "github.com/vkseq/vkseq/gpu"

const embedLocal = 64

// Embedding records the gather out[n, :] = table[ids[n], :] (nn.Embedding). Shapes: ids I32 of any
// shape with N elements; table [V, D] F32 or F16 (F16 needs Float16Storage); out [N, D] F32, or
// ids' shape followed by D. An id outside [0, V) writes a row of NaN: validate ids on the host
// before uploading them when that matters. N = 0 records nothing.
func Embedding(s *gpu.Stream, out, ids, table *gpu.Tensor) error {
	const op = "embedding"
	if ids == nil || table == nil || out == nil {
		return shapeErr(op, "out, ids and table must not be nil")
	}
	if ids.DType() != gpu.I32 {
		return shapeErr(op, "ids has dtype %v, want i32", ids.DType())
	}
	ts := table.Shape()
	if len(ts) != 2 || ts[0] < 1 || ts[1] < 1 {
		return shapeErr(op, "table has shape %v, want [V, D] with V, D ≥ 1", ts)
	}
	v, dim := ts[0], ts[1]
	mod, err := weightModule(op, "table", "embedding", table)
	if err != nil {
		return err
	}
	n := ids.Len()
	want := append(ids.Shape(), dim)
	if out.DType() != gpu.F32 || out.Len() != n*dim || !(checkTensor(op, "out", out, gpu.F32, n, dim) == nil || checkTensor(op, "out", out, gpu.F32, want...) == nil) {
		return shapeErr(op, "out is %v, want f32 [%d, %d] or %v", out, n, dim, want)
	}
	if err := sameDevice(op, s, out, ids, table); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	d := s.Device()
	groups := [3]uint32{uint32(ceilDiv(dim, 4*embedLocal)), uint32(min(n, int(d.Info().MaxWorkgroupCount[1]))), 1}
	if groups[0] > d.Info().MaxWorkgroupCount[0] {
		return shapeErr(op, "rows of D = %d exceed the device's grid", dim)
	}
	limit := bindRange(d)
	if out.Bytes() > limit {
		return shapeErr(op, "out %v exceeds the device's binding range of %d bytes: gather fewer ids per call", out, limit)
	}
	vb := min(v, int((limit-uint64(d.Info().StorageAlignment)-16)/uint64(table.DType().Size()*dim)))
	if vb < 1 {
		return shapeErr(op, "a table row of D = %d does not fit one binding of %d bytes", dim, limit)
	}
	for v0 := 0; v0 < v; v0 += vb {
		rows := min(vb, v-v0)
		tv, tb, err := elemWindow(table, v0*dim, rows*dim, limit)
		if err != nil {
			return err
		}
		vec := dim%4 == 0 && tb%4 == 0
		k, err := kernel(d, mod, []gpu.Access{gpu.Read, gpu.Read, gpu.Write}, 24, embedLocal, b2u(vec))
		if err != nil {
			return err
		}
		push := gpu.Push(uint32(n), uint32(dim), uint32(v), uint32(v0), uint32(v0+rows), uint32(tb))
		if err := s.Dispatch(k, groups, push, ids, tv, out); err != nil {
			return err
		}
	}
	return nil
}
