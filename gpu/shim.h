// Small C shim for the parts of Vulkan that the vulkan-go binding lacks:
// loading the loader library at run time, vkGetPhysicalDevice{Properties,Features}2,
// the feature chain for vkCreateDevice, and a VK_EXT_debug_utils messenger.
// Everything it needs is declared here, so the package builds without libvulkan-dev.
#ifndef VKSEQ_SHIM_H
#define VKSEQ_SHIM_H
#include <stdint.h>

typedef struct vks_caps {
	uint32_t subgroup_size;
	uint32_t subgroup_stages;
	uint32_t subgroup_ops;
	uint32_t storage_buffer_16;
	uint32_t shader_float16;
	uint32_t shader_int8;
	uint32_t storage_buffer_8;
	uint32_t has_uuid;
	uint8_t device_uuid[16];
	uint32_t has_driver;
	uint32_t driver_id;
	char driver_name[256];
	char driver_info[256];
	uint64_t max_memory_allocation_size;
} vks_caps;

// vks_load opens the Vulkan loader and returns vkGetInstanceProcAddr, or NULL.
void* vks_load(void);
// vks_query fills caps from vkGetPhysicalDeviceProperties2/Features2; returns 0 when those are missing.
int vks_query(void* gipa, void* instance, void* physdev, uint32_t api_version, vks_caps* caps);
// vks_feature_chain returns a malloc'd VkPhysicalDeviceFeatures2 chain enabling the given features.
void* vks_feature_chain(int storage16, int float16, int int8, int storage8);
void vks_free(void* p);
// vks_create_messenger creates a debug-utils messenger that reports to vkseqValidationMessage.
int vks_create_messenger(void* gipa, void* instance, uint64_t* messenger);
void vks_destroy_messenger(void* gipa, void* instance, uint64_t messenger);
#endif

// Recording fast path: the per-dispatch calls go through function pointers of the device,
// one cgo call per dispatch, with no allocation.
typedef struct vks_dev vks_dev;
vks_dev* vks_dev_new(void* gipa, void* instance, void* device);
void vks_dev_free(vks_dev* d);
// vks_dispatch allocates a descriptor set from pool, writes nbind storage-buffer bindings, binds
// everything and records the dispatch. Returns a VkResult (VK_ERROR_OUT_OF_POOL_MEMORY = -1000069000
// when the pool is exhausted: nothing is recorded then).
int32_t vks_dispatch(vks_dev* d, void* cmd, uint64_t pipeline, uint64_t layout, uint64_t set_layout, uint64_t pool,
	uint32_t nbind, const uint64_t* buffers, const uint64_t* offsets, const uint64_t* ranges, const uint64_t* views,
	const void* push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz);
void vks_barrier(vks_dev* d, void* cmd, uint32_t src_stage, uint32_t dst_stage, uint32_t src_access, uint32_t dst_access);
void vks_timestamp(vks_dev* d, void* cmd, uint32_t stage, uint64_t pool, uint32_t query);
void vks_fill(vks_dev* d, void* cmd, uint64_t buffer, uint64_t offset, uint64_t size, uint32_t value);
void vks_copy(vks_dev* d, void* cmd, uint64_t src, uint64_t src_off, uint64_t dst, uint64_t dst_off, uint64_t size);
// vks_submit takes the queue and command buffer as integers, so that the Go call passes no pointer
// (cgo's pointer checks allocate).
int32_t vks_submit(vks_dev* d, uintptr_t queue, uintptr_t cmd, uint64_t fence);
// vks_wait_reset waits for fence (at most timeout ns) and resets it: VK_SUCCESS, VK_TIMEOUT (2, not
// reset) or an error. One cgo call with no allocation.
int32_t vks_wait_reset(vks_dev* d, uint64_t fence, uint64_t timeout);
// vks_create_pipeline builds a compute pipeline with entry point "main" and n specialization
// constants (ids 0..n-1, 4 bytes each) from C memory only, so no Go-owned memory is referenced
// while the driver compiles. Returns a VkResult.
int32_t vks_create_pipeline(vks_dev* d, uint64_t module, uint64_t layout, uint32_t n, const uint32_t* spec, uint64_t* pipeline);
