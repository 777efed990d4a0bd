package gpu

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// The loader is opened once per process: the binding keeps its function table in C globals.
var (
	loaderOnce sync.Once
	loaderGIPA unsafe.Pointer
	loaderErr  error
)

// loadVulkan opens libvulkan.so.1 (the runtime library, not the -dev symlink), hands
// vkGetInstanceProcAddr to the binding and loads its global functions.
func loadVulkan() (unsafe.Pointer, error) {
	loaderOnce.Do(func() {
		p := C.vks_load()
		if p == nil {
			loaderErr = fmt.Errorf("%w: the Vulkan loader (libvulkan.so.1) was not found; %s", ErrNoDevice, installHint)
			return
		}
		loaderGIPA = unsafe.Pointer(p)
		vk.SetGetInstanceProcAddr(loaderGIPA)
		if err := vk.Init(); err != nil {
			loaderErr = fmt.Errorf("%w: initialising the Vulkan loader: %v; %s", ErrNoDevice, err, installHint)
		}
	})
	return loaderGIPA, loaderErr
}

// installHint tells a user how to get a working Vulkan driver.
const installHint = "install a Vulkan driver and loader (Debian/Ubuntu: apt-get install libvulkan1 mesa-vulkan-drivers; " +
	"mesa-vulkan-drivers includes lavapipe, a CPU device that always works)"

// caps are the capabilities that only the Properties2/Features2 queries report.
type caps struct {
	subgroupSize, subgroupStages, subgroupOps uint32
	storage16, float16, int8, storage8        bool
	uuid                                      [16]byte
	hasUUID                                   bool
	driverName, driverInfo                    string
	maxAllocationSize                         uint64
}

func queryCaps(gipa unsafe.Pointer, inst vk.Instance, pd vk.PhysicalDevice, api uint32) caps {
	var c C.vks_caps
	if C.vks_query(gipa, unsafe.Pointer(inst), unsafe.Pointer(pd), C.uint32_t(api), &c) == 0 {
		return caps{}
	}
	out := caps{
		subgroupSize:      uint32(c.subgroup_size),
		subgroupStages:    uint32(c.subgroup_stages),
		subgroupOps:       uint32(c.subgroup_ops),
		storage16:         c.storage_buffer_16 != 0,
		float16:           c.shader_float16 != 0,
		int8:              c.shader_int8 != 0,
		storage8:          c.storage_buffer_8 != 0,
		hasUUID:           c.has_uuid != 0,
		maxAllocationSize: uint64(c.max_memory_allocation_size),
	}
	for i := range out.uuid {
		out.uuid[i] = byte(c.device_uuid[i])
	}
	if c.has_driver != 0 {
		out.driverName = C.GoString(&c.driver_name[0])
		out.driverInfo = C.GoString(&c.driver_info[0])
	}
	return out
}

// featureChain is C memory holding a VkPhysicalDeviceFeatures2 chain for vkCreateDevice.
func featureChain(storage16, float16, storage8 bool) unsafe.Pointer {
	b := func(v bool) C.int {
		if v {
			return 1
		}
		return 0
	}
	return C.vks_feature_chain(b(storage16), b(float16), 0, b(storage8))
}

func freeC(p unsafe.Pointer) { C.vks_free(p) }

func createMessenger(gipa unsafe.Pointer, inst vk.Instance) (uint64, error) {
	var m C.uint64_t
	if r := C.vks_create_messenger(gipa, unsafe.Pointer(inst), &m); r != 0 {
		return 0, fmt.Errorf("vkCreateDebugUtilsMessengerEXT: result %d", int32(r))
	}
	return uint64(m), nil
}

func destroyMessenger(gipa unsafe.Pointer, inst vk.Instance, m uint64) {
	C.vks_destroy_messenger(gipa, unsafe.Pointer(inst), C.uint64_t(m))
}
