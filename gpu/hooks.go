package gpu

import (
	"fmt"
	"strings"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Hooks for applications that share vkseq's device with their own Vulkan work, such as a window
// that presents compute results (package display). They are generic: this package imports no
// windowing system, so headless users build without windowing headers.

type hookConfig struct {
	instanceExts []string
	deviceExts   []string
	onInstance   []func(instance uintptr) (cleanup func(), err error)
	queueFilter  func(instance, physicalDevice uintptr, family uint32) (bool, error)
}

// WithInstanceExtensions enables further instance extensions, e.g. the ones GLFW's
// glfwGetRequiredInstanceExtensions lists for window surfaces. Open fails with an error wrapping
// ErrUnsupported when the loader lacks one.
func WithInstanceExtensions(names ...string) Option {
	return func(c *config) { c.hooks.instanceExts = append(c.hooks.instanceExts, names...) }
}

// WithDeviceExtensions enables further device extensions, e.g. VK_KHR_swapchain. A device that
// lacks one is not chosen (its reason names the extension).
func WithDeviceExtensions(names ...string) Option {
	return func(c *config) { c.hooks.deviceExts = append(c.hooks.deviceExts, names...) }
}

// WithInstanceHook runs f once Open has created the VkInstance (handle instance), before a device
// is chosen: a window library creates its surface there, so that WithQueueFilter can test it.
// The cleanup f returns (may be nil) runs when the instance is destroyed (Close, or a later failure
// of Open), after the device is gone and before vkDestroyInstance. An error of f fails Open.
func WithInstanceHook(f func(instance uintptr) (cleanup func(), err error)) Option {
	return func(c *config) { c.hooks.onInstance = append(c.hooks.onInstance, f) }
}

// WithQueueFilter restricts the queue family Open uses to compute families for which keep returns
// true (e.g. families that can present to a surface: vkGetPhysicalDeviceSurfaceSupportKHR).
// A device with no such family is not chosen. An error of keep fails Open.
func WithQueueFilter(keep func(instance, physicalDevice uintptr, family uint32) (bool, error)) Option {
	return func(c *config) { c.hooks.queueFilter = keep }
}

func nulTerminated(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "\x00"
	}
	return out
}

func (in *instance) runHooks(hooks []func(uintptr) (func(), error)) error {
	for _, f := range hooks {
		cleanup, err := f(uintptr(unsafe.Pointer(in.handle)))
		if cleanup != nil {
			in.cleanups = append(in.cleanups, cleanup)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// restrict marks unusable the devices that lack a requested device extension or a queue family
// passing the queue filter, and moves the others to the first compute family the filter keeps.
func restrict(in *instance, devs []DeviceInfo, h hookConfig) error {
	for i := range devs {
		d := &devs[i]
		if !d.Usable {
			continue
		}
		if len(h.deviceExts) > 0 {
			have, err := deviceExtensions(d.phys)
			if err != nil {
				return err
			}
			var missing []string
			for _, e := range h.deviceExts {
				if !have[e] {
					missing = append(missing, e)
				}
			}
			if len(missing) > 0 {
				d.Usable, d.Reason = false, "lacks device extension "+strings.Join(missing, ", ")
				continue
			}
		}
		if h.queueFilter == nil {
			continue
		}
		var nq uint32
		vk.GetPhysicalDeviceQueueFamilyProperties(d.phys, &nq, nil)
		qs := make([]vk.QueueFamilyProperties, nq)
		vk.GetPhysicalDeviceQueueFamilyProperties(d.phys, &nq, qs)
		found := false
		for f := range qs[:nq] {
			qs[f].Deref()
			if qs[f].QueueFlags&vk.QueueFlags(vk.QueueComputeBit) == 0 {
				continue
			}
			ok, err := h.queueFilter(uintptr(unsafe.Pointer(in.handle)), uintptr(unsafe.Pointer(d.phys)), uint32(f))
			if err != nil {
				return fmt.Errorf("queue filter on %q family %d: %w", d.Name, f, err)
			}
			if !ok {
				continue
			}
			if !found || (d.tsBits == 0 && qs[f].TimestampValidBits > 0) {
				d.queueFamily, d.tsBits, found = uint32(f), qs[f].TimestampValidBits, true
			}
		}
		d.Timestamps = d.tsBits > 0 && d.TimestampPeriod > 0
		if !found {
			d.Usable, d.Reason = false, "no compute queue family passes the queue filter (e.g. none presents to the surface)"
		}
	}
	return nil
}

// Handles are the raw Vulkan handles behind a Device, for an application's own Vulkan calls on
// the same device (swapchains, graphics pipelines). Dispatchable handles (instance, physical
// device, device, queue) are pointers as uintptr. They stay valid until the Device is closed;
// the Device keeps owning them (except for a Wrap'd device, whose handles are the application's).
type Handles struct {
	Instance, PhysicalDevice, Device, Queue uintptr
	QueueFamily                             uint32
	// GetInstanceProcAddr is the vkGetInstanceProcAddr of the loader vkseq opened.
	GetInstanceProcAddr uintptr
}

// Handles returns the raw Vulkan handles of d.
func (d *Device) Handles() Handles {
	return Handles{
		Instance:            uintptr(unsafe.Pointer(d.in.handle)),
		PhysicalDevice:      uintptr(unsafe.Pointer(d.info.phys)),
		Device:              uintptr(unsafe.Pointer(d.dev)),
		Queue:               uintptr(unsafe.Pointer(d.queue)),
		QueueFamily:         d.info.queueFamily,
		GetInstanceProcAddr: uintptr(d.in.gipa),
	}
}

// WithQueue runs f while holding the lock vkseq takes around its own vkQueueSubmit calls, so that
// the caller's vkQueueSubmit / vkQueuePresentKHR on d's queue (handle queue) is externally
// synchronised with vkseq's, as Vulkan requires. Work the caller submits is ordered after every
// stream already submitted, whose results Stream.Submit makes visible to later submissions.
func (d *Device) WithQueue(f func(queue uintptr) error) error {
	if err := d.use(); err != nil {
		return err
	}
	d.queueMu.Lock()
	defer d.queueMu.Unlock()
	return f(uintptr(unsafe.Pointer(d.queue)))
}

// OnClose registers f to run when d is closed: after the device is idle and before vkseq destroys
// anything (streams, memory, device, instance), so f can destroy the caller's objects that depend
// on them (a swapchain, semaphores). Hooks run in reverse order of registration.
func (d *Device) OnClose(f func()) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("%w: device %q", ErrClosed, d.info.Name)
	}
	d.onClose = append(d.onClose, f)
	return nil
}

// Buffer returns the VkBuffer (a non-dispatchable handle) holding t and t's byte offset and size
// in it, so an application can bind or copy the tensor in its own command buffers. The buffer has
// storage, transfer-source and transfer-destination usage. It stays owned by vkseq: valid until t
// (or the device) is closed.
func (t *Tensor) Buffer() (buffer uint64, offset, size uint64, err error) {
	if err := t.usable(); err != nil {
		return 0, 0, 0, err
	}
	return uint64(uintptr(unsafe.Pointer(t.blk.buf))), t.off, t.bytes, nil
}
