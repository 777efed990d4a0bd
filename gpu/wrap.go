package gpu

/*
#include <stdint.h>
// vks_ptr turns a handle the application passed as uintptr back into a pointer (C memory, not Go's).
static void* vks_ptr(uintptr_t p) { return (void*)p; }
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// External describes Vulkan objects an application created and owns (its renderer's instance,
// device and queue), for Wrap. Dispatchable handles are pointers as uintptr.
type External struct {
	// Instance must have been created with apiVersion >= 1.2 through the system's Vulkan loader
	// (libvulkan.so.1, the one vkseq opens); PhysicalDevice is the device's physical device.
	Instance, PhysicalDevice uintptr
	// Device is a VkDevice of PhysicalDevice (Vulkan >= 1.2); Queue is queue QueueFamily's queue
	// that vkseq submits to. QueueFamily must support compute.
	Device, Queue uintptr
	QueueFamily   uint32
	// The device features the application enabled in vkCreateDevice that vkseq may use
	// (storageBuffer16BitAccess, shaderFloat16, storageBuffer8BitAccess): ops needing one
	// that is false fail with ErrUnsupported.
	Float16Storage, Float16Arithmetic, Int8Storage bool
	// DebugUtils says the instance enabled VK_EXT_debug_utils: vkseq then adds a messenger
	// whose messages ValidationMessages returns (the application enables the validation layer).
	DebugUtils bool
}

// Wrap makes a Device that runs vkseq's kernels on an application's own Vulkan device and queue,
// so that tensors can be shared with the application's pipelines (Tensor.Buffer) with no copy.
//
// Ownership: the application keeps owning the instance, the physical device, the device and the
// queue; Close never destroys them. vkseq owns what it creates on the device (memory and buffers
// of tensors, pipelines, descriptor and command pools, fences, and the debug messenger), and Close
// destroys exactly those, after vkQueueWaitIdle on the shared queue. The application must close the
// Device before destroying its device or instance, and must not call vkQueueSubmit on the queue
// concurrently with vkseq: it submits through Device.WithQueue, which takes vkseq's queue lock.
// Of the options only WithStaging and WithBlockSize apply. Errors wrap ErrInvalid for bad handles
// and ErrUnsupported for a device or queue vkseq cannot use.
func Wrap(ext External, opts ...Option) (*Device, error) {
	cfg := config{blockSize: 64 << 20}
	for _, o := range opts {
		o(&cfg)
	}
	if ext.Instance == 0 || ext.PhysicalDevice == 0 || ext.Device == 0 || ext.Queue == 0 {
		return nil, fmt.Errorf("%w: Wrap needs the instance, physical device, device and queue handles (got %+v)", ErrInvalid, ext)
	}
	gipa, err := loadVulkan()
	if err != nil {
		return nil, err
	}
	h := vk.Instance(cptr(ext.Instance))
	if err := vk.InitInstance(h); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDevice, err)
	}
	in := &instance{gipa: gipa, handle: h, external: true}
	phys := vk.PhysicalDevice(cptr(ext.PhysicalDevice))
	info, err := describe(in, phys)
	if err != nil {
		return nil, err
	}
	if !info.Usable {
		return nil, fmt.Errorf("%w: device %q cannot run vkseq: %s", ErrUnsupported, info.Name, info.Reason)
	}
	var nq uint32
	vk.GetPhysicalDeviceQueueFamilyProperties(phys, &nq, nil)
	qs := make([]vk.QueueFamilyProperties, nq)
	vk.GetPhysicalDeviceQueueFamilyProperties(phys, &nq, qs)
	if ext.QueueFamily >= nq {
		return nil, fmt.Errorf("%w: queue family %d out of range (device %q has %d)", ErrInvalid, ext.QueueFamily, info.Name, nq)
	}
	qs[ext.QueueFamily].Deref()
	if qs[ext.QueueFamily].QueueFlags&vk.QueueFlags(vk.QueueComputeBit) == 0 {
		return nil, fmt.Errorf("%w: queue family %d of %q does not support compute", ErrUnsupported, ext.QueueFamily, info.Name)
	}
	info.queueFamily, info.tsBits = ext.QueueFamily, qs[ext.QueueFamily].TimestampValidBits
	info.Timestamps = info.tsBits > 0 && info.TimestampPeriod > 0
	info.Float16Storage = info.Float16Storage && ext.Float16Storage
	info.Float16Arithmetic = info.Float16Arithmetic && ext.Float16Arithmetic
	info.Int8Storage = info.Int8Storage && ext.Int8Storage
	info.Int8Arithmetic = false
	if ext.DebugUtils {
		m, err := createMessenger(gipa, h)
		if err != nil {
			return nil, err
		}
		in.messenger, in.validate = m, true
	}
	d := &Device{info: info, in: in, streams: map[*Stream]struct{}{}, external: true}
	d.dev = vk.Device(cptr(ext.Device))
	d.queue = vk.Queue(cptr(ext.Queue))
	if err := d.createCommon(cfg); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// LoaderProcAddr opens the system's Vulkan loader as vkseq does (once per process) and returns its
// vkGetInstanceProcAddr. It also initialises the global function table of the
// github.com/vulkan-go/vulkan binding, so an application using that binding can create the
// instance and device it passes to Wrap. Errors wrap ErrNoDevice.
func LoaderProcAddr() (unsafe.Pointer, error) { return loadVulkan() }

func cptr(h uintptr) unsafe.Pointer { return C.vks_ptr(C.uintptr_t(h)) }
