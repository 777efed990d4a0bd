package gpu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestMemoryGuards: requests past the host's available memory, and tensors past what the device
// (on lavapipe: the host) can hold, are refused with errors naming the size and the limit, before
// anything is allocated.
func TestMemoryGuards(t *testing.T) {
	avail := gpu.HostMemoryAvailable()
	if avail == 0 {
		t.Skip("the host's available memory is unknown")
	}
	if err := gpu.CheckHostMemory("a small request", 1<<20); err != nil {
		t.Errorf("1 MiB refused: %v", err)
	}
	err := gpu.CheckHostMemory("a huge request", float64(avail))
	if !errors.Is(err, gpu.ErrOutOfHostMemory) || !strings.Contains(err.Error(), "a huge request") {
		t.Errorf("all available memory: got %v, want ErrOutOfHostMemory naming the request", err)
	}
	if err := gpu.CheckHostMemory("an overflowing request", 1e30); !errors.Is(err, gpu.ErrOutOfHostMemory) {
		t.Errorf("1e30 bytes: %v", err)
	}
	t.Log(err)

	d := openDevice(t)
	var blocks0 int
	blocks0, _ = d.MemoryStats()
	if err := d.CheckMemory("a huge tensor", 1e30); !errors.Is(err, gpu.ErrOutOfDeviceMemory) {
		t.Errorf("CheckMemory(1e30): %v", err)
	}
	if typ := d.Info().Type; (typ == gpu.CPU || typ == gpu.Integrated) && avail < 1<<40 {
		// Just past the host's available memory: refused by the heap or by the host's memory.
		_, err := d.NewTensor(gpu.F32, int(avail/4)+1)
		if !errors.Is(err, gpu.ErrOutOfDeviceMemory) || !strings.Contains(err.Error(), "bytes") {
			t.Errorf("tensor of the host's available memory (%d bytes) on a %s device: got %v, want ErrOutOfDeviceMemory", avail, typ, err)
		}
		t.Log(err)
	}
	// Two tensors that each fit the heap but not together: the second is refused (lavapipe commits
	// the pages of an untouched tensor lazily, so this costs little memory).
	var heap uint64
	for _, h := range d.Info().Heaps {
		heap = max(heap, h.Size)
	}
	if heap <= 4<<30 && uint64(float64(heap)*0.6) < avail/2 {
		n := int(float64(heap) * 0.6 / 4)
		x, err := d.NewTensor(gpu.F32, n)
		if err != nil {
			t.Fatalf("a tensor of 60%% of the heap: %v", err)
		}
		_, err = d.NewTensor(gpu.F32, n)
		if !errors.Is(err, gpu.ErrOutOfDeviceMemory) || !strings.Contains(err.Error(), "in use") {
			t.Errorf("second tensor of 60%% of the heap: got %v, want ErrOutOfDeviceMemory naming the memory in use", err)
		}
		t.Log(err)
		x.Close()
	}
	if blocks, _ := d.MemoryStats(); blocks != blocks0 {
		t.Errorf("refused requests allocated: %d blocks → %d", blocks0, blocks)
	}
}
