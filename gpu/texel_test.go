package gpu_test

import (
	"errors"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

// texelSum is copy_texel (the read ceiling) with one texel per invocation: out[i] = the 4 floats of
// texel i of the Texel binding.
func texelSum(t *testing.T, d *gpu.Device) *gpu.Kernel {
	t.Helper()
	code, err := shaders.SPIRV("copy_texel")
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.Kernel(gpu.KernelSpec{Name: "copy_texel", SPIRV: code, Bindings: []gpu.Access{gpu.Read | gpu.Texel, gpu.Write}, PushSize: 4, Spec: []uint32{64, 4, 1}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestTexelBinding reads tensors, windows of them and tensors made again at a released range
// through a Texel binding, a size that is not whole texels, and the read-only rule.
func TestTexelBinding(t *testing.T) {
	d := openDevice(t)
	k := texelSum(t, d)
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run := func(src *gpu.Tensor, want []float32) {
		t.Helper()
		n := len(want) / 4
		out, err := d.NewTensor(gpu.F32, len(want))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := out.Fill(-7); err != nil {
			t.Fatal(err)
		}
		if err := s.Dispatch(k, [3]uint32{uint32((n + 63) / 64), 1, 1}, gpu.Push(uint32(n)), src, out); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		got, err := out.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("element %d: got %v, want %v", i, got[i], want[i])
			}
		}
	}
	data := func(n int, scale float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i)*scale - 3
		}
		return x
	}
	const n = 4 * 1000
	x := data(n, 0.5)
	a, err := d.FromFloat32(x, n)
	if err != nil {
		t.Fatal(err)
	}
	if !a.TexelBindable() {
		t.Fatalf("%v: TexelBindable false", a)
	}
	run(a, x)
	run(a, x) // the view again, from the cache
	// A window from an aligned element.
	al := int(d.Info().StorageAlignment) / 4
	w, err := a.Window(4*al, 4*100)
	if err != nil {
		t.Fatal(err)
	}
	if w.TexelBindable() != (d.Info().TexelAlignment > 0 && (4*uint64(al)*4)%d.Info().TexelAlignment == 0) {
		t.Fatalf("%v: TexelBindable %v with texel alignment %d", w, w.TexelBindable(), d.Info().TexelAlignment)
	}
	if w.TexelBindable() {
		run(w, x[4*al:4*al+400])
	}
	// A tensor made again over the released range reads its own data.
	a.Close()
	y := data(n, -0.25)
	b, err := d.FromFloat32(y, n)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	run(b, y)

	// 5 floats: two texels, the second reaching into the allocation's padding.
	five := data(5, 1)
	odd, err := d.FromFloat32(five, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer odd.Close()
	if !odd.TexelBindable() {
		t.Fatalf("%v: TexelBindable false", odd)
	}
	out, err := d.NewTensor(gpu.F32, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(2)), odd, out); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	got, err := out.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range five {
		if got[i] != v {
			t.Fatalf("5 floats, element %d: got %v, want %v", i, got[i], v)
		}
	}
	code, _ := shaders.SPIRV("copy_texel")
	if _, err := d.Kernel(gpu.KernelSpec{Name: "copy_texel", SPIRV: code, Bindings: []gpu.Access{gpu.ReadWrite | gpu.Texel, gpu.Write}, PushSize: 4}); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("a written Texel binding: got %v, want ErrInvalid", err)
	}
}
