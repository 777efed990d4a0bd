package gpu

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Option configures Open.
type Option func(*config)

type config struct {
	selection    string
	validate     bool
	forceStaging bool
	blockSize    uint64
	hooks        hookConfig // see hooks.go
}

// WithDevice selects a device by index or case-insensitive name substring (as VKSEQ_DEVICE does;
// this option wins over the variable).
func WithDevice(sel string) Option { return func(c *config) { c.selection = sel } }

// WithValidation turns VK_LAYER_KHRONOS_validation on or off (default: on when VKSEQ_VALIDATE is set).
func WithValidation(on bool) Option { return func(c *config) { c.validate = on } }

// WithStaging makes tensors live in memory the host cannot map, moved through a staging buffer,
// as on a discrete GPU without resizable BAR, even where the device offers host-visible memory.
// It exists so that this path can be tested on any device.
func WithStaging() Option { return func(c *config) { c.forceStaging = true } }

// WithBlockSize sets the size of the memory blocks tensors are carved from (default 64 MiB).
func WithBlockSize(bytes uint64) Option { return func(c *config) { c.blockSize = bytes } }

// Device is an open Vulkan device: a queue, a memory pool, and a cache of compiled kernels.
// It is safe for concurrent use by several goroutines. Close releases every Vulkan object it made,
// including tensors, kernels and streams not yet closed.
type Device struct {
	info DeviceInfo
	in   *instance
	dev  vk.Device
	fast *C.vks_dev

	queue     vk.Queue
	queueMu   sync.Mutex // vkQueueSubmit
	oneShotMu sync.Mutex // the one-shot command buffer

	mem     *allocator
	hostMem *allocator // NewHostTensor's pool when mem is not host-visible (made on first use)
	kernels *kernelCache

	// recording counts the Graphs being recorded: host transfers of tensors are refused meanwhile.
	recording atomic.Int32

	oneShot struct {
		pool  vk.CommandPool
		cmd   vk.CommandBuffer
		fence vk.Fence
	}

	mu      sync.Mutex
	closed  bool
	streams map[*Stream]struct{}

	deviceExts []string // extra device extensions (WithDeviceExtensions)
	external   bool     // the VkDevice and VkInstance belong to the application (Wrap)
	onClose    []func() // OnClose hooks, run before anything is destroyed
}

// Open opens the device chosen by the options, VKSEQ_DEVICE, or the default order
// (discrete GPU, integrated, virtual, CPU). The error wraps ErrNoDevice when none can be used.
func Open(opts ...Option) (*Device, error) {
	cfg := config{selection: selectionFromEnv(), validate: validationRequested(), blockSize: 64 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	in, err := newInstance(cfg.validate, cfg.hooks.instanceExts)
	if err != nil {
		return nil, err
	}
	if err := in.runHooks(cfg.hooks.onInstance); err != nil {
		in.destroy()
		return nil, err
	}
	devs, err := listDevices(in)
	if err != nil {
		in.destroy()
		return nil, err
	}
	if err := restrict(in, devs, cfg.hooks); err != nil {
		in.destroy()
		return nil, err
	}
	info, err := choose(devs, cfg.selection)
	if err != nil {
		in.destroy()
		return nil, err
	}
	d := &Device{info: info, in: in, streams: map[*Stream]struct{}{}, deviceExts: cfg.hooks.deviceExts}
	if err := d.create(cfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Device) create(cfg config) error {
	chain := featureChain(d.info.Float16Storage, d.info.Float16Arithmetic, d.info.Int8Storage)
	if chain == nil {
		return fmt.Errorf("%w: allocating the feature chain", ErrOutOfDeviceMemory)
	}
	defer freeC(chain)
	exts := nulTerminated(d.deviceExts)
	if d.info.portability {
		exts = append(exts, "VK_KHR_portability_subset\x00")
	}
	prio := []float32{1}
	qinfo := []vk.DeviceQueueCreateInfo{{
		SType:            vk.StructureTypeDeviceQueueCreateInfo,
		QueueFamilyIndex: d.info.queueFamily,
		QueueCount:       1,
		PQueuePriorities: prio,
	}}
	dinfo := &vk.DeviceCreateInfo{
		SType:                   vk.StructureTypeDeviceCreateInfo,
		PNext:                   chain,
		QueueCreateInfoCount:    1,
		PQueueCreateInfos:       qinfo,
		EnabledExtensionCount:   uint32(len(exts)),
		PpEnabledExtensionNames: exts,
	}
	var dev vk.Device
	r := vk.CreateDevice(d.info.phys, dinfo, nil, &dev)
	dinfo.Free()
	if err := check("vkCreateDevice", r); err != nil {
		return err
	}
	d.dev = dev
	var q vk.Queue
	vk.GetDeviceQueue(dev, d.info.queueFamily, 0, &q)
	d.queue = q
	return d.createCommon(cfg)
}

// createCommon makes what every Device has beside the VkDevice and its queue: the fast-path
// function table, the memory pool, the kernel cache and the one-shot command buffer.
func (d *Device) createCommon(cfg config) error {
	dev := d.dev
	d.fast = C.vks_dev_new(d.in.gipa, unsafe.Pointer(d.in.handle), unsafe.Pointer(dev))
	if d.fast == nil {
		return fmt.Errorf("%w: vkGetDeviceProcAddr returned no address for a core command", ErrNoDevice)
	}
	mem, err := newAllocator(d, cfg.forceStaging, cfg.blockSize)
	if err != nil {
		return err
	}
	d.mem = mem
	d.kernels = newKernelCache(d)
	return d.createOneShot()
}

func (d *Device) createOneShot() error {
	pi := &vk.CommandPoolCreateInfo{
		SType:            vk.StructureTypeCommandPoolCreateInfo,
		Flags:            vk.CommandPoolCreateFlags(vk.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: d.info.queueFamily,
	}
	var pool vk.CommandPool
	r := vk.CreateCommandPool(d.dev, pi, nil, &pool)
	pi.Free()
	if err := check("vkCreateCommandPool", r); err != nil {
		return err
	}
	d.oneShot.pool = pool
	cmd, err := allocCommandBuffer(d.dev, pool)
	if err != nil {
		return err
	}
	d.oneShot.cmd = cmd
	f, err := createFence(d.dev)
	if err != nil {
		return err
	}
	d.oneShot.fence = f
	return nil
}

func allocCommandBuffer(dev vk.Device, pool vk.CommandPool) (vk.CommandBuffer, error) {
	ai := &vk.CommandBufferAllocateInfo{
		SType:              vk.StructureTypeCommandBufferAllocateInfo,
		CommandPool:        pool,
		Level:              vk.CommandBufferLevelPrimary,
		CommandBufferCount: 1,
	}
	cmds := make([]vk.CommandBuffer, 1)
	r := vk.AllocateCommandBuffers(dev, ai, cmds)
	ai.Free()
	if err := check("vkAllocateCommandBuffers", r); err != nil {
		return nil, err
	}
	return cmds[0], nil
}

func createFence(dev vk.Device) (vk.Fence, error) {
	fi := &vk.FenceCreateInfo{SType: vk.StructureTypeFenceCreateInfo}
	var f vk.Fence
	r := vk.CreateFence(dev, fi, nil, &f)
	fi.Free()
	if err := check("vkCreateFence", r); err != nil {
		return vk.NullFence, err
	}
	return f, nil
}

// submitAndWait submits one recorded command buffer and waits for its fence, under the queue lock.
func (d *Device) submitAndWait(cmd vk.CommandBuffer, fence vk.Fence) error {
	if err := d.submit(cmd, fence); err != nil {
		return err
	}
	return d.waitFence(fence)
}

func (d *Device) submit(cmd vk.CommandBuffer, fence vk.Fence) error {
	d.queueMu.Lock()
	r := vk.Result(C.vks_submit(d.fast, C.uintptr_t(uintptr(unsafe.Pointer(d.queue))), C.uintptr_t(uintptr(unsafe.Pointer(cmd))), fenceHandle(fence)))
	d.queueMu.Unlock()
	return check("vkQueueSubmit", r)
}

// fenceTimeout bounds every wait, so a hung device returns an error rather than hanging the caller.
const fenceTimeout = uint64(10 * 60 * 1e9) // 10 minutes (lavapipe is slow on big sweeps)

// waitFence waits for fence and resets it (one cgo call, no allocation).
func (d *Device) waitFence(fence vk.Fence) error {
	r := vk.Result(C.vks_wait_reset(d.fast, fenceHandle(fence), C.uint64_t(fenceTimeout)))
	if r == vk.Timeout {
		return fmt.Errorf("%w: a submission did not finish within 10 minutes", ErrDeviceLost)
	}
	return check("vkWaitForFences/vkResetFences", r)
}

// Non-dispatchable Vulkan handles (pointers to incomplete C types in the binding) as the 64-bit
// values the shim takes. One function per type, since converting such a pointer to an interface
// allocates (recording and replays call these per command).
func fenceHandle(h vk.Fence) C.uint64_t           { return C.uint64_t(uintptr(unsafe.Pointer(h))) }
func bufferHandle(h vk.Buffer) C.uint64_t         { return C.uint64_t(uintptr(unsafe.Pointer(h))) }
func pipelineHandle(h vk.Pipeline) C.uint64_t     { return C.uint64_t(uintptr(unsafe.Pointer(h))) }
func layoutHandle(h vk.PipelineLayout) C.uint64_t { return C.uint64_t(uintptr(unsafe.Pointer(h))) }
func setLayoutHandle(h vk.DescriptorSetLayout) C.uint64_t {
	return C.uint64_t(uintptr(unsafe.Pointer(h)))
}
func poolHandle(h vk.DescriptorPool) C.uint64_t { return C.uint64_t(uintptr(unsafe.Pointer(h))) }
func queryHandle(h vk.QueryPool) C.uint64_t     { return C.uint64_t(uintptr(unsafe.Pointer(h))) }
func moduleHandle(h vk.ShaderModule) C.uint64_t { return C.uint64_t(uintptr(unsafe.Pointer(h))) }

// Info describes the open device.
func (d *Device) Info() DeviceInfo { return d.info }

// Validating reports whether the validation layer is on for this device.
func (d *Device) Validating() bool { return d.in != nil && d.in.validate }

// notRecording refuses a host transfer (what: "read" or "write") while a Graph is being recorded
// on d: it would run once, at recording, and not at each replay.
func (d *Device) notRecording(what string) error {
	if d.recording.Load() > 0 {
		return fmt.Errorf("%w: host %s of a tensor while a Graph is being recorded on the device "+
			"(it would happen once, not at each replay: do it before recording or between replays)", ErrInvalid, what)
	}
	return nil
}

func (d *Device) use() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("%w: device %q", ErrClosed, d.info.Name)
	}
	return nil
}

// Close waits for the device to go idle and destroys every Vulkan object made through it: open
// streams, kernels, memory (so every Tensor of the device becomes unusable), the device and its instance.
// It is idempotent.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	streams := make([]*Stream, 0, len(d.streams))
	for s := range d.streams {
		streams = append(streams, s)
	}
	d.mu.Unlock()

	var firstErr error
	if d.dev != nil {
		d.queueMu.Lock()
		if d.external { // the application may keep using its device: wait for the shared queue only
			if err := check("vkQueueWaitIdle", vk.QueueWaitIdle(d.queue)); err != nil {
				firstErr = err
			}
		} else if err := check("vkDeviceWaitIdle", vk.DeviceWaitIdle(d.dev)); err != nil {
			firstErr = err
		}
		d.queueMu.Unlock()
		d.mu.Lock()
		hooks := d.onClose
		d.onClose = nil
		d.mu.Unlock()
		for i := len(hooks) - 1; i >= 0; i-- {
			hooks[i]()
		}
		for _, s := range streams {
			s.destroy()
		}
		if d.kernels != nil {
			d.kernels.destroy()
		}
		if d.mem != nil {
			d.mem.destroy()
		}
		if d.hostMem != nil {
			d.hostMem.destroy()
		}
		if d.oneShot.fence != vk.NullFence {
			vk.DestroyFence(d.dev, d.oneShot.fence, nil)
		}
		if d.oneShot.pool != vk.NullCommandPool {
			vk.DestroyCommandPool(d.dev, d.oneShot.pool, nil)
		}
		if !d.external {
			vk.DestroyDevice(d.dev, nil)
		}
		d.dev = nil
	}
	if d.fast != nil {
		C.vks_dev_free(d.fast)
		d.fast = nil
	}
	if d.in != nil {
		d.in.destroy()
	}
	return firstErr
}
