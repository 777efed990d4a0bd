package gpu

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sort"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Memory flags and pipeline stages used here, with their Vulkan values.
const (
	stageCompute  = 0x800
	stageTransfer = 0x1000
	stageBottom   = 0x2000
	stageHost     = 0x4000

	accessShaderRead    = 0x20
	accessShaderWrite   = 0x40
	accessTransferRead  = 0x800
	accessTransferWrite = 0x1000
	accessHostRead      = 0x2000
	accessHostWrite     = 0x4000

	accessAnyRead  = accessShaderRead | accessTransferRead | accessHostRead
	accessAnyWrite = accessShaderWrite | accessTransferWrite
	stageAny       = stageCompute | stageTransfer
)

const bufferUsage = vk.BufferUsageFlags(vk.BufferUsageStorageBufferBit | vk.BufferUsageUniformTexelBufferBit | vk.BufferUsageTransferSrcBit | vk.BufferUsageTransferDstBit)

type span struct{ off, size uint64 }

// block is one VkDeviceMemory with one VkBuffer over all of it; tensors are ranges of it.
type block struct {
	mem       vk.DeviceMemory
	buf       vk.Buffer
	size      uint64
	mapped    unsafe.Pointer // nil unless host-visible
	free      []span         // sorted by offset, coalesced
	live      int
	dedicated bool // made for one large tensor; destroyed when it is freed
	// views holds the texel-buffer views made of ranges of buf (Texel bindings), by range; a
	// view is destroyed when its range is released and with the block.
	views map[span]vk.BufferView
}

// allocator sub-allocates tensors from a few large blocks per device, aligned to
// minStorageBufferOffsetAlignment, so that maxMemoryAllocationCount is never approached
// (docs/design.md §2).
type allocator struct {
	d         *Device
	mu        sync.Mutex
	memType   uint32
	heapSize  uint64
	mapped    bool // memType is host-visible and coherent: tensors are written and read in place
	staging   stagingBuffer
	align     uint64
	blockSize uint64
	blocks    []*block
	dead      bool // destroyed with the device: late releases are ignored
}

type stagingBuffer struct {
	memType uint32
	heap    uint64 // size of memType's heap
	blk     *block
	mu      sync.Mutex
}

func newAllocator(d *Device, forceStaging bool, blockSize uint64) (*allocator, error) {
	a := &allocator{d: d, blockSize: blockSize, align: max(d.info.StorageAlignment, 16)}
	// Which memory types can back a storage buffer: the same for every buffer of one usage.
	probe, err := a.createBuffer(256)
	if err != nil {
		return nil, err
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(d.dev, probe, &req)
	req.Deref()
	vk.DestroyBuffer(d.dev, probe, nil)
	a.align = max(a.align, uint64(req.Alignment))

	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(d.info.phys, &mp)
	mp.Deref()
	type mt struct {
		flags vk.MemoryPropertyFlags
		heap  uint64
	}
	types := make([]mt, mp.MemoryTypeCount)
	var largestLocal uint64
	for i := range types {
		mp.MemoryTypes[i].Deref()
		h := mp.MemoryHeaps[mp.MemoryTypes[i].HeapIndex]
		h.Deref()
		types[i] = mt{mp.MemoryTypes[i].PropertyFlags, uint64(h.Size)}
		if types[i].flags&vk.MemoryPropertyFlags(vk.MemoryPropertyDeviceLocalBit) != 0 {
			largestLocal = max(largestLocal, types[i].heap)
		}
	}
	has := func(f vk.MemoryPropertyFlags, bits vk.MemoryPropertyFlagBits) bool {
		return f&vk.MemoryPropertyFlags(bits) == vk.MemoryPropertyFlags(bits)
	}
	find := func(want vk.MemoryPropertyFlagBits, minHeap uint64) int {
		for i, t := range types {
			if req.MemoryTypeBits&(1<<uint(i)) != 0 && has(t.flags, want) && t.heap >= minHeap {
				return i
			}
		}
		return -1
	}
	local, visible, coherent, cached := vk.MemoryPropertyDeviceLocalBit, vk.MemoryPropertyHostVisibleBit,
		vk.MemoryPropertyHostCoherentBit, vk.MemoryPropertyHostCachedBit
	// Host-visible device-local memory (UMA, CPU devices, resizable BAR) when its heap is a real
	// share of the device's memory, not a 256 MiB BAR window.
	idx := -1
	if !forceStaging {
		idx = find(local|visible|coherent, largestLocal/2)
		if idx >= 0 {
			a.mapped = true
		}
	}
	if idx < 0 {
		idx = find(local, 0)
	}
	if idx < 0 { // no device-local type at all: any type that can back the buffer
		idx = find(0, 0)
	}
	if idx < 0 {
		return nil, fmt.Errorf("%w: no memory type can back a storage buffer", ErrUnsupported)
	}
	a.memType, a.heapSize = uint32(idx), types[idx].heap
	if a.mapped && !forceStaging {
		return a, nil
	}
	// Staging for uploads and read-back: host-cached makes reads fast where it exists.
	s := find(visible|coherent|cached, 0)
	if s < 0 {
		s = find(visible|coherent, 0)
	}
	if s < 0 {
		return nil, fmt.Errorf("%w: no host-visible coherent memory type for staging", ErrUnsupported)
	}
	if forceStaging && uint32(s) == a.memType {
		a.mapped = false // the tensors' type may be mappable, but the staging path is what was asked for
	}
	a.staging.memType, a.staging.heap = uint32(s), types[s].heap
	return a, nil
}

func (a *allocator) createBuffer(size uint64) (vk.Buffer, error) {
	bi := &vk.BufferCreateInfo{
		SType:       vk.StructureTypeBufferCreateInfo,
		Size:        vk.DeviceSize(size),
		Usage:       bufferUsage,
		SharingMode: vk.SharingModeExclusive,
	}
	var buf vk.Buffer
	r := vk.CreateBuffer(a.d.dev, bi, nil, &buf)
	bi.Free()
	if err := check("vkCreateBuffer", r); err != nil {
		return vk.NullBuffer, err
	}
	return buf, nil
}

// newBlock allocates memory of type memType with a buffer over it, mapped when mapIt.
func (a *allocator) newBlock(size uint64, memType uint32, mapIt bool) (*block, error) {
	buf, err := a.createBuffer(blockBufferSize(size))
	if err != nil {
		return nil, err
	}
	var req vk.MemoryRequirements
	vk.GetBufferMemoryRequirements(a.d.dev, buf, &req)
	req.Deref()
	ai := &vk.MemoryAllocateInfo{
		SType:           vk.StructureTypeMemoryAllocateInfo,
		AllocationSize:  req.Size,
		MemoryTypeIndex: memType,
	}
	var mem vk.DeviceMemory
	r := vk.AllocateMemory(a.d.dev, ai, nil, &mem)
	ai.Free()
	if err := check("vkAllocateMemory", r); err != nil {
		vk.DestroyBuffer(a.d.dev, buf, nil)
		return nil, fmt.Errorf("allocating %d bytes: %w", size, err)
	}
	if err := check("vkBindBufferMemory", vk.BindBufferMemory(a.d.dev, buf, mem, 0)); err != nil {
		vk.DestroyBuffer(a.d.dev, buf, nil)
		vk.FreeMemory(a.d.dev, mem, nil)
		return nil, err
	}
	b := &block{mem: mem, buf: buf, size: size, free: []span{{0, size}}}
	if mapIt {
		var p unsafe.Pointer
		if err := check("vkMapMemory", vk.MapMemory(a.d.dev, mem, 0, vk.DeviceSize(vk.WholeSize), 0, &p)); err != nil {
			a.destroyBlock(b)
			return nil, err
		}
		b.mapped = p
	}
	return b, nil
}

func (a *allocator) destroyBlock(b *block) {
	for _, v := range b.views {
		vk.DestroyBufferView(a.d.dev, v, nil)
	}
	b.views = nil
	if b.mapped != nil {
		vk.UnmapMemory(a.d.dev, b.mem)
		b.mapped = nil
	}
	vk.DestroyBuffer(a.d.dev, b.buf, nil)
	vk.FreeMemory(a.d.dev, b.mem, nil)
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) / a * a }

// alloc returns an aligned range of at least size bytes.
func (a *allocator) alloc(size uint64) (*block, uint64, error) {
	size = alignUp(max(size, 4), a.align)
	if size > a.heapSize {
		return nil, 0, fmt.Errorf("%w: %d bytes asked for, but the device's memory heap holds %d bytes", ErrOutOfDeviceMemory, size, a.heapSize)
	}
	if lim := a.d.info.MaxAllocationSize; lim > 0 && size > lim {
		return nil, 0, fmt.Errorf("%w: %d bytes asked for in one tensor, but the device allows at most %d bytes per allocation (maxMemoryAllocationSize)", ErrOutOfDeviceMemory, size, lim)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return nil, 0, ErrClosed
	}
	if size <= a.blockSize {
		for _, b := range a.blocks {
			if b.dedicated {
				continue
			}
			if off, ok := b.take(size); ok {
				return b, off, nil
			}
		}
	}
	bs, dedicated := a.blockSize, false
	if size > a.blockSize {
		bs, dedicated = size, true
	}
	if err := a.checkLocked(fmt.Sprintf("a block for a tensor of %d bytes", size), float64(bs)); err != nil {
		return nil, 0, err
	}
	b, err := a.newBlock(bs, a.memType, a.mapped)
	if err != nil {
		return nil, 0, err
	}
	b.dedicated = dedicated
	a.blocks = append(a.blocks, b)
	off, _ := b.take(size)
	return b, off, nil
}

// take carves size bytes from the first free span that holds them.
func (b *block) take(size uint64) (uint64, bool) {
	for i, s := range b.free {
		if s.size < size {
			continue
		}
		off := s.off
		if s.size == size {
			b.free = append(b.free[:i], b.free[i+1:]...)
		} else {
			b.free[i] = span{s.off + size, s.size - size}
		}
		b.live++
		return off, true
	}
	return 0, false
}

// release returns a range to its block; a block left empty is destroyed unless it is the only
// empty standard block (kept to serve the next tensors without a new vkAllocateMemory).
func (a *allocator) release(b *block, off, size uint64) {
	size = alignUp(max(size, 4), a.align)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return
	}
	i := sort.Search(len(b.free), func(i int) bool { return b.free[i].off > off })
	b.free = append(b.free, span{})
	copy(b.free[i+1:], b.free[i:])
	b.free[i] = span{off, size}
	// Coalesce with the neighbours.
	if i+1 < len(b.free) && b.free[i].off+b.free[i].size == b.free[i+1].off {
		b.free[i].size += b.free[i+1].size
		b.free = append(b.free[:i+1], b.free[i+2:]...)
	}
	if i > 0 && b.free[i-1].off+b.free[i-1].size == b.free[i].off {
		b.free[i-1].size += b.free[i].size
		b.free = append(b.free[:i], b.free[i+1:]...)
	}
	for r, v := range b.views {
		if r.off < off+size && off < r.off+r.size {
			vk.DestroyBufferView(a.d.dev, v, nil)
			delete(b.views, r)
		}
	}
	b.live--
	if b.live > 0 {
		return
	}
	keep := !b.dedicated
	if keep {
		for _, o := range a.blocks {
			if o != b && !o.dedicated && o.live == 0 {
				keep = false
				break
			}
		}
	}
	if keep {
		return
	}
	for j, o := range a.blocks {
		if o == b {
			a.blocks = append(a.blocks[:j], a.blocks[j+1:]...)
			break
		}
	}
	a.destroyBlock(b)
}

// texelView returns the RGBA32UI texel view of bytes [off, off+size) of b, made on first use.
func (a *allocator) texelView(b *block, off, size uint64) (vk.BufferView, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return nil, fmt.Errorf("%w: device", ErrClosed)
	}
	r := span{off, size}
	if v, ok := b.views[r]; ok {
		return v, nil
	}
	vi := &vk.BufferViewCreateInfo{
		SType:  vk.StructureTypeBufferViewCreateInfo,
		Buffer: b.buf,
		Format: vk.FormatR32g32b32a32Uint,
		Offset: vk.DeviceSize(off),
		Range:  vk.DeviceSize(texelViewRange(size, a.d.info.MaxTexelElements)),
	}
	var v vk.BufferView
	res := vk.CreateBufferView(a.d.dev, vi, nil, &v)
	vi.Free()
	if err := check("vkCreateBufferView", res); err != nil {
		return nil, err
	}
	if b.views == nil {
		b.views = map[span]vk.BufferView{}
	}
	b.views[r] = v
	return v, nil
}

// stats reports the blocks and bytes held, for tests and diagnostics.
func (a *allocator) stats() (blocks int, bytes uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range a.blocks {
		bytes += b.size
	}
	return len(a.blocks), bytes
}

func (a *allocator) destroy() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dead = true
	for _, b := range a.blocks {
		a.destroyBlock(b)
	}
	a.blocks = nil
	if a.staging.blk != nil {
		a.destroyBlock(a.staging.blk)
		a.staging.blk = nil
	}
}

// hostBlockSize is the block size of the host-visible pool of NewHostTensor (small values only).
const hostBlockSize = 1 << 20

// hostAllocator returns the pool of NewHostTensor: the device's own when its tensors are mapped,
// else a pool of host-visible coherent memory (the staging type), made on first use.
func (d *Device) hostAllocator() (*allocator, error) {
	if d.mem.mapped {
		return d.mem, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("%w: device %q", ErrClosed, d.info.Name)
	}
	if d.hostMem == nil {
		m := d.mem
		d.hostMem = &allocator{d: d, memType: m.staging.memType, heapSize: m.staging.heap, mapped: true,
			align: m.align, blockSize: hostBlockSize}
	}
	return d.hostMem, nil
}

// MemoryStats reports how many memory blocks the device holds and their total size in bytes.
func (d *Device) MemoryStats() (blocks int, bytes uint64) { return d.mem.stats() }

// ---- transfers ----

const stagingSize = 16 << 20

// transfer moves n bytes between host memory p and (b, off) through the staging buffer,
// upload when toDevice. Used only when tensors are not host-visible.
func (a *allocator) transfer(b *block, off uint64, p unsafe.Pointer, n uint64, toDevice bool) error {
	st := &a.staging
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.blk == nil {
		blk, err := a.newBlock(stagingSize, st.memType, true)
		if err != nil {
			return err
		}
		st.blk = blk
	}
	d := a.d
	for done := uint64(0); done < n; {
		chunk := min(n-done, stagingSize)
		if toDevice {
			copy(unsafe.Slice((*byte)(st.blk.mapped), chunk), unsafe.Slice((*byte)(unsafe.Add(p, done)), chunk))
		}
		src, srcOff, dst, dstOff := st.blk.buf, uint64(0), b.buf, off+done
		if !toDevice {
			src, srcOff, dst, dstOff = b.buf, off+done, st.blk.buf, 0
		}
		err := d.runOneShot(func(cmd vk.CommandBuffer) {
			cp := unsafe.Pointer(cmd)
			C.vks_barrier(d.fast, cp, stageAny|stageHost, stageTransfer, accessAnyWrite|accessHostWrite, accessTransferRead|accessTransferWrite)
			C.vks_copy(d.fast, cp, bufferHandle(src), C.uint64_t(srcOff), bufferHandle(dst), C.uint64_t(dstOff), C.uint64_t(chunk))
			C.vks_barrier(d.fast, cp, stageTransfer, stageAny|stageHost, accessTransferWrite, accessAnyRead|accessAnyWrite)
		})
		if err != nil {
			return err
		}
		if !toDevice {
			copy(unsafe.Slice((*byte)(unsafe.Add(p, done)), chunk), unsafe.Slice((*byte)(st.blk.mapped), chunk))
		}
		done += chunk
	}
	return nil
}

// runOneShot records commands into the device's one-shot command buffer, submits and waits.
func (d *Device) runOneShot(record func(cmd vk.CommandBuffer)) error {
	d.oneShotMu.Lock()
	defer d.oneShotMu.Unlock()
	cmd := d.oneShot.cmd
	if err := check("vkResetCommandBuffer", vk.ResetCommandBuffer(cmd, 0)); err != nil {
		return err
	}
	bi := &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo, Flags: vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit)}
	r := vk.BeginCommandBuffer(cmd, bi)
	bi.Free()
	if err := check("vkBeginCommandBuffer", r); err != nil {
		return err
	}
	record(cmd)
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(cmd)); err != nil {
		return err
	}
	return d.submitAndWait(cmd, d.oneShot.fence)
}

// texelTail is the bytes every block's VkBuffer holds past the block's size (see blockBufferSize).
const texelTail = 256

// blockBufferSize is the size of the VkBuffer over a block of size bytes: texelTail more, and
// never a power of two. Mesa's llvmpipe (lavapipe) compiles each kernel again for every new set of
// properties of the buffers its texel bindings view, and two of those properties change with
// sizes that do not change the kernel's code: whether the buffer's size is a power of two
// (pot_width), and whether bits 8-15 of the view's byte range are zero (level_zero_only, read from
// the view's union as a texture's last mip level). A kernel then took 10-20 s to build once per
// combination (up to four times for a GEMM with two texel bindings). Blocks keep the first
// property constant, and the tail lets texelViewRange keep the second.
func blockBufferSize(size uint64) uint64 {
	n := size + texelTail
	if n&(n-1) == 0 {
		n += texelTail
	}
	return n
}

// texelViewRange is the byte range of the texel view of a tensor of size bytes (a multiple of 16,
// at most maxElems texels): size, or size + texelTail where bits 8-15 of size are all zero (see
// blockBufferSize), unless that would pass maxElems. The tail texels exist in the block's buffer
// (blockBufferSize) and no kernel reads them: kernels index within their tensors.
func texelViewRange(size uint64, maxElems uint64) uint64 {
	if (size>>8)&0xff == 0 && (size+texelTail)/16 <= maxElems {
		return size + texelTail
	}
	return size
}
