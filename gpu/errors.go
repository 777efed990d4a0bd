package gpu

import (
	"errors"
	"fmt"

	vk "github.com/vulkan-go/vulkan"
)

// Sentinel errors; every error of this package that falls in one of these classes wraps it,
// so callers can test with errors.Is.
var (
	// ErrNoDevice: no Vulkan loader, no driver, or no device matching the selection.
	ErrNoDevice = errors.New("gpu: no usable Vulkan device")
	// ErrOutOfDeviceMemory: a request larger than the device's memory, or an allocation the driver refused.
	ErrOutOfDeviceMemory = errors.New("gpu: out of device memory")
	// ErrOutOfHostMemory: a request whose host buffers would exceed the memory the host has available.
	ErrOutOfHostMemory = errors.New("gpu: out of host memory")
	// ErrDeviceLost: the driver reported VK_ERROR_DEVICE_LOST; the Device must be closed.
	ErrDeviceLost = errors.New("gpu: device lost")
	// ErrUnsupported: the device lacks a feature or limit the request needs (float16 storage, a workgroup size...).
	ErrUnsupported = errors.New("gpu: not supported by this device")
	// ErrClosed: the Device, Tensor, Kernel or Stream was already closed.
	ErrClosed = errors.New("gpu: use after Close")
	// ErrInvalid: an argument is out of range or mis-shaped.
	ErrInvalid = errors.New("gpu: invalid argument")
	// ErrStale: a Graph binds a tensor that was closed since it was recorded; record it again.
	ErrStale = errors.New("gpu: the graph binds a closed tensor")
	// ErrValidation: the validation layer reported messages (only when validation is on).
	ErrValidation = errors.New("gpu: validation layer reported errors")
)

// VulkanError is a failed Vulkan call.
type VulkanError struct {
	Call   string    // the Vulkan function, e.g. "vkAllocateMemory"
	Result vk.Result // the VkResult it returned
}

// Error names the call and its VkResult.
func (e *VulkanError) Error() string {
	return fmt.Sprintf("gpu: %s failed: %s (%d)", e.Call, resultName(e.Result), int32(e.Result))
}

// Unwrap maps the result to the package's sentinel errors.
func (e *VulkanError) Unwrap() error {
	switch e.Result {
	case vk.ErrorOutOfDeviceMemory, vk.ErrorOutOfHostMemory, vk.ErrorOutOfPoolMemory, vk.ErrorFragmentedPool:
		return ErrOutOfDeviceMemory
	case vk.ErrorDeviceLost:
		return ErrDeviceLost
	case vk.ErrorFeatureNotPresent, vk.ErrorExtensionNotPresent, vk.ErrorLayerNotPresent, vk.ErrorFormatNotSupported:
		return ErrUnsupported
	case vk.ErrorIncompatibleDriver, vk.ErrorInitializationFailed:
		return ErrNoDevice
	}
	return nil
}

// check turns a VkResult into an error (nil for success codes).
func check(call string, r vk.Result) error {
	if r >= 0 { // VK_SUCCESS and the positive status codes (VK_NOT_READY, VK_TIMEOUT, VK_INCOMPLETE...)
		return nil
	}
	return &VulkanError{Call: call, Result: r}
}

func resultName(r vk.Result) string {
	switch r {
	case vk.ErrorOutOfHostMemory:
		return "VK_ERROR_OUT_OF_HOST_MEMORY"
	case vk.ErrorOutOfDeviceMemory:
		return "VK_ERROR_OUT_OF_DEVICE_MEMORY"
	case vk.ErrorInitializationFailed:
		return "VK_ERROR_INITIALIZATION_FAILED"
	case vk.ErrorDeviceLost:
		return "VK_ERROR_DEVICE_LOST"
	case vk.ErrorMemoryMapFailed:
		return "VK_ERROR_MEMORY_MAP_FAILED"
	case vk.ErrorLayerNotPresent:
		return "VK_ERROR_LAYER_NOT_PRESENT"
	case vk.ErrorExtensionNotPresent:
		return "VK_ERROR_EXTENSION_NOT_PRESENT"
	case vk.ErrorFeatureNotPresent:
		return "VK_ERROR_FEATURE_NOT_PRESENT"
	case vk.ErrorIncompatibleDriver:
		return "VK_ERROR_INCOMPATIBLE_DRIVER"
	case vk.ErrorTooManyObjects:
		return "VK_ERROR_TOO_MANY_OBJECTS"
	case vk.ErrorFormatNotSupported:
		return "VK_ERROR_FORMAT_NOT_SUPPORTED"
	case vk.ErrorFragmentedPool:
		return "VK_ERROR_FRAGMENTED_POOL"
	case vk.ErrorOutOfPoolMemory:
		return "VK_ERROR_OUT_OF_POOL_MEMORY"
	case vk.ErrorInvalidShaderNv:
		return "VK_ERROR_INVALID_SHADER_NV"
	}
	return "VkResult"
}
