package gpu_test

import (
	"errors"
	"math"
	"os"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

// openDevice opens the default device or skips when none exists (the suite needs a Vulkan driver;
// `make test` installs lavapipe when there is none). Validation messages fail the test.
func openDevice(t testing.TB, opts ...gpu.Option) *gpu.Device {
	t.Helper()
	d, err := gpu.Open(opts...)
	skipNoDevice(t, err)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkValidation(t)
	})
	return d
}

// skipNoDevice skips the test when err is gpu.ErrNoDevice, unless VKSEQ_REQUIRE_DEVICE=1 asks
// for a device (then the test fails); any other error is left to the caller.
func skipNoDevice(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, gpu.ErrNoDevice) {
		return
	}
	if os.Getenv("VKSEQ_REQUIRE_DEVICE") != "" {
		t.Fatalf("no Vulkan device, and VKSEQ_REQUIRE_DEVICE is set: %v", err)
	}
	t.Skipf("no Vulkan device: %v", err)
}

func checkValidation(t testing.TB) {
	t.Helper()
	msgs, n := gpu.ValidationMessages()
	for _, m := range msgs {
		t.Errorf("%v", m)
	}
	if n > len(msgs) {
		t.Errorf("... and %d more validation messages", n-len(msgs))
	}
}

func copyKernel(t testing.TB, d *gpu.Device) *gpu.Kernel {
	t.Helper()
	code, err := shaders.SPIRV("copy")
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.Kernel(gpu.KernelSpec{Name: "copy", SPIRV: code, Bindings: []gpu.Access{gpu.Read, gpu.Write}, PushSize: 4, Spec: []uint32{64}})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCopyKernel(t *testing.T) {
	for _, staging := range []bool{false, true} {
		name := "mapped"
		var opts []gpu.Option
		if staging {
			name = "staging"
			opts = append(opts, gpu.WithStaging())
		}
		t.Run(name, func(t *testing.T) {
			d := openDevice(t, opts...)
			k := copyKernel(t, d)
			const n = 1000 * 4
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(i) * 0.5
			}
			a, err := d.FromFloat32(src, n)
			if err != nil {
				t.Fatal(err)
			}
			b, err := d.NewTensor(gpu.F32, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Fill(float32(math.NaN())); err != nil {
				t.Fatal(err)
			}
			s, err := d.NewStream(gpu.WithTimestamps(8))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Dispatch(k, [3]uint32{(n/4 + 63) / 64, 1, 1}, gpu.Push(uint32(n/4)), a, b); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			got, err := b.ReadFloat32()
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != src[i] {
					t.Fatalf("element %d: got %v want %v", i, got[i], src[i])
				}
			}
			if tm := s.Timings(); len(tm) != 1 || tm[0].Name != "copy" {
				t.Fatalf("timings %v", tm)
			}
			a.Close()
			b.Close()
		})
	}
}
