package gpu_test

import (
	"errors"
	"math"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

func TestTensorRoundTrips(t *testing.T) {
	for _, staging := range []bool{false, true} {
		var opts []gpu.Option
		if staging {
			opts = append(opts, gpu.WithStaging(), gpu.WithBlockSize(1<<20))
		}
		d := openDevice(t, opts...)
		f := []float32{0, 1, -2.5, 65504, 1e-8, float32(math.Inf(1))}
		x, err := d.FromFloat32(f, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		got, err := x.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		for i := range f {
			if got[i] != f[i] {
				t.Errorf("f32[%d] = %v want %v", i, got[i], f[i])
			}
		}
		h, err := d.FromFloat16(f, 6)
		if err != nil {
			t.Fatal(err)
		}
		gh, err := h.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		wantH := []float32{0, 1, -2.5, 65504, 0, float32(math.Inf(1))} // 1e-8 underflows in float16
		for i := range wantH {
			if gh[i] != wantH[i] && !(i == 4 && math.Abs(float64(gh[i])) < 1e-7) {
				t.Errorf("f16[%d] = %v want %v", i, gh[i], wantH[i])
			}
		}
		ints := []int32{-5, 0, 7, math.MaxInt32}
		it, err := d.FromInt32(ints, 4)
		if err != nil {
			t.Fatal(err)
		}
		gi, err := it.ReadInt32()
		if err != nil {
			t.Fatal(err)
		}
		for i := range ints {
			if gi[i] != ints[i] {
				t.Errorf("i32[%d] = %v want %v", i, gi[i], ints[i])
			}
		}
		// A tensor bigger than one block gets its own, and the staging path moves it in chunks.
		big := make([]float32, 3<<20)
		for i := range big {
			big[i] = float32(i % 1000)
		}
		bt, err := d.FromFloat32(big, len(big))
		if err != nil {
			t.Fatal(err)
		}
		gb, err := bt.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		for i := range big {
			if gb[i] != big[i] {
				t.Fatalf("big[%d] = %v want %v", i, gb[i], big[i])
			}
		}
		for _, tt := range []*gpu.Tensor{x, h, it, bt} {
			tt.Close()
		}
	}
}

func TestTensorErrors(t *testing.T) {
	d := openDevice(t)
	var largest uint64
	for _, h := range d.Info().Heaps {
		largest = max(largest, h.Size)
	}
	_, err := d.NewTensor(gpu.F32, int(largest/4)+1<<20)
	if !errors.Is(err, gpu.ErrOutOfDeviceMemory) {
		t.Errorf("tensor larger than the largest heap (%d bytes): got %v, want ErrOutOfDeviceMemory", largest, err)
	} else {
		t.Log(err)
	}
	if _, err := d.NewTensor(gpu.F32, 4, -1); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("negative dimension: %v", err)
	}
	if _, err := d.NewTensor(gpu.F32, math.MaxInt/2, 4); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("overflowing shape: %v", err)
	}
	x, err := d.NewTensor(gpu.F32, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.WriteFloat32(make([]float32, 5)); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("short write: %v", err)
	}
	if _, err := x.ReadInt32(); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("ReadInt32 of f32: %v", err)
	}
	if _, err := x.Reshape(7); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("reshape: %v", err)
	}
	if _, err := x.Window(4, 4); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("window past the end: %v", err)
	}
	v, err := x.Reshape(3, 2)
	if err != nil || v.Len() != 6 {
		t.Fatalf("reshape: %v", err)
	}
	x.Close()
	if err := x.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := x.ReadFloat32(); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	it, err := d.NewTensor(gpu.I32, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if err := it.WriteFloat32([]float32{1}); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("float into I32: %v", err)
	}
	if _, err := d.FromFloat32([]float32{1, 2}, 3); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("FromFloat32 with 2 values for 3 elements: %v", err)
	}
	if _, err := d.FromInt32([]int32{1, 2}, 3); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("FromInt32 with 2 values for 3 elements: %v", err)
	}
}

func TestMemoryPool(t *testing.T) {
	d := openDevice(t, gpu.WithBlockSize(4<<20))
	var ts []*gpu.Tensor
	for i := 0; i < 1000; i++ {
		x, err := d.NewTensor(gpu.F32, 1000+i)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, x)
	}
	blocks, bytes := d.MemoryStats()
	t.Logf("1000 tensors: %d blocks, %d bytes", blocks, bytes)
	if blocks > 4 {
		t.Errorf("1000 small tensors took %d memory blocks", blocks)
	}
	// Write distinct data everywhere: no two tensors may overlap.
	for i, x := range ts {
		if err := x.Fill(float32(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, x := range ts {
		got, err := x.ReadFloat32()
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != float32(i) || got[len(got)-1] != float32(i) {
			t.Fatalf("tensor %d overwritten", i)
		}
	}
	for _, x := range ts {
		x.Close()
	}
	if blocks, _ := d.MemoryStats(); blocks > 1 {
		t.Errorf("after freeing every tensor %d blocks remain (want at most one kept)", blocks)
	}
}
