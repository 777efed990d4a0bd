package gpu_test

import (
	"sync"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/shaders"
)

// TestKernelConcurrentBuilds asks for kernels from several goroutines at once: the same spec gives
// the same *Kernel (one build, the others wait for it), different specs build side by side, and
// each runs correctly; Close after that destroys them all (the validation layer checks).
func TestKernelConcurrentBuilds(t *testing.T) {
	d := openDevice(t)
	code, err := shaders.SPIRV("copy")
	if err != nil {
		t.Fatal(err)
	}
	const goroutines = 8
	ks := make([]*gpu.Kernel, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := uint32(64 << (g % 2)) // two specs: 64 and 128 invocations (the copy checks its bound)
			ks[g], errs[g] = d.Kernel(gpu.KernelSpec{Name: "copy", SPIRV: code, Bindings: []gpu.Access{gpu.Read, gpu.Write}, PushSize: 4, Spec: []uint32{local}})
		}()
	}
	wg.Wait()
	for g := range goroutines {
		if errs[g] != nil {
			t.Fatalf("goroutine %d: %v", g, errs[g])
		}
		if ks[g] != ks[g%2] {
			t.Errorf("goroutine %d got another kernel than goroutine %d for the same spec", g, g%2)
		}
	}
	if ks[0] == ks[1] {
		t.Error("two specs gave one kernel")
	}
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = copyRoundTrip(d, ks[g], 1024, 4)
		}()
	}
	wg.Wait()
	for g := range 2 {
		if errs[g] != nil {
			t.Error(errs[g])
		}
	}
}
