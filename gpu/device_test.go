package gpu_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

func TestDevices(t *testing.T) {
	devs, err := gpu.Devices()
	skipNoDevice(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) == 0 {
		t.Fatal("no devices listed")
	}
	seen := map[string]bool{}
	for i, d := range devs {
		t.Logf("%d: %s (%s) driver %q api %s subgroup %d %v f16 %v/%v shared %d heaps %v", i, d.Name, d.Type, d.Driver,
			d.APIVersion, d.SubgroupSize, d.SubgroupOps, d.Float16Storage, d.Float16Arithmetic, d.SharedMemory, d.Heaps)
		if d.Index != i || d.Name == "" || len(d.Heaps) == 0 || d.MaxStorageBufferRange == 0 || d.StorageAlignment == 0 {
			t.Errorf("device %d: incomplete info %+v", i, d)
		}
		if d.UUID != "" && seen[d.UUID] {
			t.Errorf("device %d listed twice (UUID %s)", i, d.UUID)
		}
		seen[d.UUID] = true
	}
}

func TestOpenSelection(t *testing.T) {
	d := openDevice(t, gpu.WithDevice("0"))
	name := d.Info().Name
	if _, err := gpu.Open(gpu.WithDevice("no such device anywhere")); !errors.Is(err, gpu.ErrNoDevice) || !strings.Contains(err.Error(), name) {
		t.Errorf("unknown name: got %v, want ErrNoDevice listing %q", err, name)
	}
	if _, err := gpu.Open(gpu.WithDevice("99")); !errors.Is(err, gpu.ErrNoDevice) {
		t.Errorf("index out of range: got %v, want ErrNoDevice", err)
	}
	t.Setenv("VKSEQ_DEVICE", strings.ToUpper(name[:3]))
	d2, err := gpu.Open()
	if err != nil {
		t.Fatalf("VKSEQ_DEVICE=%s: %v", name[:3], err)
	}
	if d2.Info().Name != name {
		t.Errorf("VKSEQ_DEVICE chose %q", d2.Info().Name)
	}
	d2.Close()
}

func TestCloseIdempotent(t *testing.T) {
	d, err := gpu.Open()
	skipNoDevice(t, err)
	if err != nil {
		t.Fatal(err)
	}
	x, err := d.NewTensor(gpu.F32, 16)
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Everything made by the device is unusable now, and closing it does nothing.
	if err := x.WriteFloat32(make([]float32, 16)); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("write after device Close: %v", err)
	}
	if _, err := d.NewTensor(gpu.F32, 1); !errors.Is(err, gpu.ErrClosed) {
		t.Errorf("NewTensor after Close: %v", err)
	}
	if err := x.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	checkValidation(t)
}

// TestValidationLayerReports proves that validation messages reach the test: a pipeline layout whose
// push-constant range is smaller than the shader's block is invalid.
func TestValidationLayerReports(t *testing.T) {
	d := openDevice(t)
	if !d.Validating() {
		t.Skip("validation is off (set VKSEQ_VALIDATE=1)")
	}
	code, err := shaders.SPIRV("fma") // declares 16 bytes of push constants
	if err != nil {
		t.Fatal(err)
	}
	gpu.ValidationMessages() // start clean
	_, _ = d.Kernel(gpu.KernelSpec{Name: "fma", SPIRV: code, Bindings: []gpu.Access{gpu.Write}, PushSize: 4, Spec: []uint32{64}})
	msgs, n := gpu.ValidationMessages()
	if n == 0 {
		t.Fatal("the validation layer reported nothing for an invalid pipeline")
	}
	t.Logf("%d message(s), first: %v", n, msgs[0])
}

func TestConcurrentStreams(t *testing.T) {
	d := openDevice(t)
	k := copyKernel(t, d)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			errs <- copyRoundTrip(d, k, 256*(g+1), 10)
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// copyRoundTrip uploads n floats, copies them through a chain of reps dependent dispatches
// (a→b, b→a, ...) on one stream, and checks the result.
func copyRoundTrip(d *gpu.Device, k *gpu.Kernel, n, reps int) error {
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(i) + 0.25
	}
	a, err := d.FromFloat32(src, n)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := d.NewTensor(gpu.F32, n)
	if err != nil {
		return err
	}
	defer b.Close()
	s, err := d.NewStream()
	if err != nil {
		return err
	}
	defer s.Close()
	groups := [3]uint32{uint32((n/4 + 63) / 64), 1, 1}
	for i := 0; i < reps; i++ {
		from, to := a, b
		if i%2 == 1 {
			from, to = b, a
		}
		if err := s.Fill(to, -1); err != nil { // the copy must wait for the fill, the fill for the previous copy
			return err
		}
		if err := s.Dispatch(k, groups, gpu.Push(uint32(n/4)), from, to); err != nil {
			return err
		}
	}
	if err := s.Run(); err != nil {
		return err
	}
	last := b
	if reps%2 == 0 {
		last = a
	}
	got, err := last.ReadFloat32()
	if err != nil {
		return err
	}
	for i := range got {
		if got[i] != src[i] {
			return errors.New("copy chain: element mismatch (a missing barrier?)")
		}
	}
	return nil
}

func TestDependentDispatchChain(t *testing.T) {
	d := openDevice(t)
	k := copyKernel(t, d)
	if err := copyRoundTrip(d, k, 1<<16, 41); err != nil {
		t.Fatal(err)
	}
}

func TestDispatchErrors(t *testing.T) {
	d := openDevice(t)
	k := copyKernel(t, d)
	a, _ := d.NewTensor(gpu.F32, 64)
	b, _ := d.NewTensor(gpu.F32, 64)
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	closed, _ := d.NewTensor(gpu.F32, 64)
	closed.Close()
	other := openDevice(t)
	foreign, err := other.NewTensor(gpu.F32, 64)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		err  error
		want error
	}{
		"too few tensors": {s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(16)), a), gpu.ErrInvalid},
		"push size":       {s.Dispatch(k, [3]uint32{1, 1, 1}, nil, a, b), gpu.ErrInvalid},
		"grid":            {s.Dispatch(k, [3]uint32{1 << 31, 1, 1}, gpu.Push(uint32(16)), a, b), gpu.ErrInvalid},
		"closed tensor":   {s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(16)), a, closed), gpu.ErrClosed},
		"other device":    {s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(16)), a, foreign), gpu.ErrInvalid},
		"copy device":     {s.Copy(a, foreign), gpu.ErrInvalid},
		"copy sizes":      {s.Copy(a, largerTensor(t, d)), gpu.ErrInvalid},
		"fill device":     {s.Fill(foreign, 0), gpu.ErrInvalid},
		"nil kernel":      {s.Dispatch(nil, [3]uint32{1, 1, 1}, nil), gpu.ErrInvalid},
	}
	for name, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: got %v, want %v", name, c.err, c.want)
		}
	}
	// The stream stays usable after rejected commands.
	if err := s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(16)), a, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Kernel(gpu.KernelSpec{Name: "bad", SPIRV: []byte{1, 2, 3, 4, 5}}); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("bad SPIR-V: %v", err)
	}
	a.Close()
	b.Close()
}

func TestOpenCloseLeak(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 20
	}
	var before runtime.MemStats
	for i := 0; i < n; i++ {
		d, err := gpu.Open()
		skipNoDevice(t, err)
		if err != nil {
			t.Fatal(err)
		}
		k := copyKernel(t, d)
		if err := copyRoundTrip(d, k, 1024, 3); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if i == n/10 {
			runtime.GC()
			runtime.ReadMemStats(&before)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("Go heap: %d → %d bytes over %d open/run/close cycles", before.HeapAlloc, after.HeapAlloc, n-n/10)
	if growth > 1<<20 {
		t.Errorf("Go heap grew by %d bytes", growth)
	}
	checkValidation(t)
}

func largerTensor(t *testing.T, d *gpu.Device) *gpu.Tensor {
	x, err := d.NewTensor(gpu.F32, 65)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func TestStreamTemp(t *testing.T) {
	d := openDevice(t)
	k := copyKernel(t, d)
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, err := d.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := d.NewTensor(gpu.F32, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	blocks0, _ := d.MemoryStats()
	for i := 0; i < 50; i++ {
		tmp, err := s.Temp(gpu.F32, 8)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(2)), src, tmp); err != nil {
			t.Fatal(err)
		}
		if err := s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(2)), tmp, dst); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		if _, err := tmp.ReadFloat32(); !errors.Is(err, gpu.ErrClosed) {
			t.Fatalf("temp still open after Wait: %v", err)
		}
	}
	got, err := dst.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	if got[7] != 8 {
		t.Fatalf("got %v", got)
	}
	if blocks, _ := d.MemoryStats(); blocks != blocks0 {
		t.Errorf("memory blocks %d → %d", blocks0, blocks)
	}
}
