#include "shim.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// Only what the shim uses is declared, with the values and layouts of the Vulkan specification.
typedef void (*vks_voidfn)(void);
typedef vks_voidfn (*vks_gipa_t)(void* instance, const char* name);

enum {
	VKS_ST_FEATURES_2 = 1000059000,
	VKS_ST_PROPERTIES_2 = 1000059001,
	VKS_ST_SUBGROUP_PROPERTIES = 1000094000,
	VKS_ST_16BIT_STORAGE_FEATURES = 1000083000,
	VKS_ST_8BIT_STORAGE_FEATURES = 1000177000,
	VKS_ST_FLOAT16_INT8_FEATURES = 1000082000,
	VKS_ST_ID_PROPERTIES = 1000071004,
	VKS_ST_DRIVER_PROPERTIES = 1000196000,
	VKS_ST_MAINTENANCE_3_PROPERTIES = 1000168000,
	VKS_ST_DEBUG_UTILS_MESSENGER_CREATE_INFO = 1000128004,
};

typedef struct { uint32_t sType; void* pNext; } vks_base;
// VkPhysicalDeviceProperties2: the embedded properties are larger than 800 bytes; the blob is generous.
typedef struct { uint32_t sType; void* pNext; uint8_t props[2048]; } vks_props2;
typedef struct { uint32_t sType; void* pNext; uint32_t features[64]; } vks_features2;
typedef struct { uint32_t sType; void* pNext; uint32_t subgroupSize, supportedStages, supportedOperations, quadOperationsInAllStages; } vks_subgroup;
typedef struct { uint32_t sType; void* pNext; uint32_t storageBuffer16BitAccess, uniformAndStorageBuffer16BitAccess, storagePushConstant16, storageInputOutput16; } vks_storage16;
typedef struct { uint32_t sType; void* pNext; uint32_t storageBuffer8BitAccess, uniformAndStorageBuffer8BitAccess, storagePushConstant8; } vks_storage8;
typedef struct { uint32_t sType; void* pNext; uint32_t shaderFloat16, shaderInt8; } vks_f16i8;
typedef struct { uint32_t sType; void* pNext; uint8_t deviceUUID[16], driverUUID[16], deviceLUID[8]; uint32_t deviceNodeMask, deviceLUIDValid; } vks_id;
typedef struct { uint32_t sType; void* pNext; uint32_t driverID; char driverName[256]; char driverInfo[256]; uint8_t conformance[4]; } vks_driver;
typedef struct { uint32_t sType; void* pNext; uint32_t maxPerSetDescriptors; uint64_t maxMemoryAllocationSize; } vks_maint3;

typedef void (*vks_getprops2_t)(void* physdev, vks_props2* p);
typedef void (*vks_getfeat2_t)(void* physdev, vks_features2* f);

void* vks_load(void) {
	static const char* names[] = {"libvulkan.so.1", "libvulkan.so", "libvulkan.1.dylib", "libMoltenVK.dylib", NULL};
	for (int i = 0; names[i]; i++) {
		void* lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!lib) continue;
		void* sym = dlsym(lib, "vkGetInstanceProcAddr");
		if (sym) return sym; // the library stays loaded for the life of the process
		dlclose(lib);
	}
	return NULL;
}

static vks_voidfn lookup(void* gipa, void* instance, const char* name, const char* khr) {
	vks_voidfn fn = ((vks_gipa_t)gipa)(instance, name);
	if (!fn && khr) fn = ((vks_gipa_t)gipa)(instance, khr);
	return fn;
}

int vks_query(void* gipa, void* instance, void* physdev, uint32_t api_version, vks_caps* caps) {
	memset(caps, 0, sizeof(*caps));
	vks_getprops2_t getprops = (vks_getprops2_t)lookup(gipa, instance, "vkGetPhysicalDeviceProperties2", "vkGetPhysicalDeviceProperties2KHR");
	vks_getfeat2_t getfeat = (vks_getfeat2_t)lookup(gipa, instance, "vkGetPhysicalDeviceFeatures2", "vkGetPhysicalDeviceFeatures2KHR");
	if (!getprops || !getfeat) return 0;

	vks_props2 p; vks_subgroup sg; vks_id id; vks_driver drv; vks_maint3 m3;
	memset(&p, 0, sizeof p); memset(&sg, 0, sizeof sg); memset(&id, 0, sizeof id);
	memset(&drv, 0, sizeof drv); memset(&m3, 0, sizeof m3);
	p.sType = VKS_ST_PROPERTIES_2;
	sg.sType = VKS_ST_SUBGROUP_PROPERTIES;
	id.sType = VKS_ST_ID_PROPERTIES;
	m3.sType = VKS_ST_MAINTENANCE_3_PROPERTIES;
	drv.sType = VKS_ST_DRIVER_PROPERTIES;
	// Structures of Vulkan 1.1 are core from 1.1; the driver properties from 1.2.
	int is11 = api_version >= ((1u << 22) | (1u << 12));
	int is12 = api_version >= ((1u << 22) | (2u << 12));
	if (is11) { p.pNext = &sg; sg.pNext = &id; id.pNext = &m3; m3.pNext = is12 ? (void*)&drv : NULL; }
	getprops(physdev, &p);
	if (is11) {
		caps->subgroup_size = sg.subgroupSize;
		caps->subgroup_stages = sg.supportedStages;
		caps->subgroup_ops = sg.supportedOperations;
		caps->has_uuid = 1;
		memcpy(caps->device_uuid, id.deviceUUID, 16);
		caps->max_memory_allocation_size = m3.maxMemoryAllocationSize;
	}
	if (is12) {
		caps->has_driver = 1;
		caps->driver_id = drv.driverID;
		memcpy(caps->driver_name, drv.driverName, 255);
		memcpy(caps->driver_info, drv.driverInfo, 255);
	}

	vks_features2 f; vks_storage16 s16; vks_storage8 s8; vks_f16i8 fi;
	memset(&f, 0, sizeof f); memset(&s16, 0, sizeof s16); memset(&s8, 0, sizeof s8); memset(&fi, 0, sizeof fi);
	f.sType = VKS_ST_FEATURES_2;
	s16.sType = VKS_ST_16BIT_STORAGE_FEATURES;
	s8.sType = VKS_ST_8BIT_STORAGE_FEATURES;
	fi.sType = VKS_ST_FLOAT16_INT8_FEATURES;
	if (is11) f.pNext = &s16;
	if (is12) { s16.pNext = &fi; fi.pNext = &s8; }
	getfeat(physdev, &f);
	caps->storage_buffer_16 = s16.storageBuffer16BitAccess;
	caps->shader_float16 = fi.shaderFloat16;
	caps->shader_int8 = fi.shaderInt8;
	caps->storage_buffer_8 = s8.storageBuffer8BitAccess;
	return 1;
}

typedef struct {
	vks_features2 f;
	vks_storage16 s16;
	vks_f16i8 fi;
	vks_storage8 s8;
} vks_chain;

void* vks_feature_chain(int storage16, int float16, int int8, int storage8) {
	vks_chain* c = calloc(1, sizeof(vks_chain));
	if (!c) return NULL;
	c->f.sType = VKS_ST_FEATURES_2;
	c->s16.sType = VKS_ST_16BIT_STORAGE_FEATURES;
	c->fi.sType = VKS_ST_FLOAT16_INT8_FEATURES;
	c->s8.sType = VKS_ST_8BIT_STORAGE_FEATURES;
	void** tail = &c->f.pNext;
	if (storage16) { c->s16.storageBuffer16BitAccess = 1; *tail = &c->s16; tail = &c->s16.pNext; }
	if (float16 || int8) { c->fi.shaderFloat16 = float16 != 0; c->fi.shaderInt8 = int8 != 0; *tail = &c->fi; tail = &c->fi.pNext; }
	if (storage8) { c->s8.storageBuffer8BitAccess = 1; *tail = &c->s8; tail = &c->s8.pNext; }
	return c;
}

void vks_free(void* p) { free(p); }

// Messenger.
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags;
	const char* pMessageIdName; int32_t messageIdNumber; const char* pMessage;
} vks_cbdata;
typedef uint32_t (*vks_cb_t)(uint32_t severity, uint32_t types, const vks_cbdata* data, void* user);
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags;
	uint32_t messageSeverity; uint32_t messageType; vks_cb_t pfnUserCallback; void* pUserData;
} vks_messenger_info;
typedef int32_t (*vks_create_messenger_t)(void* instance, const vks_messenger_info* info, const void* alloc, uint64_t* out);
typedef void (*vks_destroy_messenger_t)(void* instance, uint64_t messenger, const void* alloc);

extern void vkseqValidationMessage(uint32_t severity, char* id, char* msg);

static uint32_t messenger_cb(uint32_t severity, uint32_t types, const vks_cbdata* data, void* user) {
	(void)types; (void)user;
	vkseqValidationMessage(severity, (char*)(data && data->pMessageIdName ? data->pMessageIdName : ""),
		(char*)(data && data->pMessage ? data->pMessage : ""));
	return 0;
}

int vks_create_messenger(void* gipa, void* instance, uint64_t* messenger) {
	vks_create_messenger_t create = (vks_create_messenger_t)lookup(gipa, instance, "vkCreateDebugUtilsMessengerEXT", NULL);
	if (!create) return -1;
	vks_messenger_info info;
	memset(&info, 0, sizeof info);
	info.sType = VKS_ST_DEBUG_UTILS_MESSENGER_CREATE_INFO;
	info.messageSeverity = 0x100 | 0x1000; // warning | error
	info.messageType = 0x1 | 0x2 | 0x4;    // general | validation | performance
	info.pfnUserCallback = messenger_cb;
	return create(instance, &info, NULL, messenger);
}

void vks_destroy_messenger(void* gipa, void* instance, uint64_t messenger) {
	vks_destroy_messenger_t destroy = (vks_destroy_messenger_t)lookup(gipa, instance, "vkDestroyDebugUtilsMessengerEXT", NULL);
	if (destroy && messenger) destroy(instance, messenger, NULL);
}

// ---- recording fast path ----
typedef vks_voidfn (*vks_gdpa_t)(void* device, const char* name);
typedef int32_t (*vks_alloc_sets_t)(void* device, const void* info, uint64_t* sets);
typedef void (*vks_update_sets_t)(void* device, uint32_t nw, const void* writes, uint32_t nc, const void* copies);
typedef void (*vks_bind_pipeline_t)(void* cmd, uint32_t bind_point, uint64_t pipeline);
typedef void (*vks_bind_sets_t)(void* cmd, uint32_t bind_point, uint64_t layout, uint32_t first, uint32_t n, const uint64_t* sets, uint32_t ndyn, const uint32_t* dyn);
typedef void (*vks_push_t)(void* cmd, uint64_t layout, uint32_t stages, uint32_t offset, uint32_t size, const void* values);
typedef void (*vks_dispatch_t)(void* cmd, uint32_t x, uint32_t y, uint32_t z);
typedef void (*vks_pipeline_barrier_t)(void* cmd, uint32_t src, uint32_t dst, uint32_t dep, uint32_t nm, const void* m, uint32_t nb, const void* b, uint32_t ni, const void* i);
typedef void (*vks_write_ts_t)(void* cmd, uint32_t stage, uint64_t pool, uint32_t query);
typedef void (*vks_fill_t)(void* cmd, uint64_t buf, uint64_t off, uint64_t size, uint32_t data);
typedef int32_t (*vks_wait_fences_t)(void* device, uint32_t n, const uint64_t* fences, uint32_t all, uint64_t timeout);
typedef int32_t (*vks_reset_fences_t)(void* device, uint32_t n, const uint64_t* fences);
typedef void (*vks_copy_t)(void* cmd, uint64_t src, uint64_t dst, uint32_t n, const void* regions);
typedef int32_t (*vks_queue_submit_t)(void* queue, uint32_t n, const void* submits, uint64_t fence);
typedef int32_t (*vks_create_pipelines_t)(void* device, uint64_t cache, uint32_t n, const void* infos, const void* alloc, uint64_t* pipelines);

struct vks_dev {
	void* device;
	vks_alloc_sets_t alloc_sets;
	vks_update_sets_t update_sets;
	vks_bind_pipeline_t bind_pipeline;
	vks_bind_sets_t bind_sets;
	vks_push_t push;
	vks_dispatch_t dispatch;
	vks_pipeline_barrier_t barrier;
	vks_write_ts_t write_ts;
	vks_fill_t fill;
	vks_copy_t copy;
	vks_queue_submit_t submit;
	vks_create_pipelines_t create_pipelines;
	vks_wait_fences_t wait_fences;
	vks_reset_fences_t reset_fences;
};

vks_dev* vks_dev_new(void* gipa, void* instance, void* device) {
	vks_gdpa_t gdpa = (vks_gdpa_t)((vks_gipa_t)gipa)(instance, "vkGetDeviceProcAddr");
	if (!gdpa) return NULL;
	vks_dev* d = calloc(1, sizeof(vks_dev));
	if (!d) return NULL;
	d->device = device;
	d->alloc_sets = (vks_alloc_sets_t)gdpa(device, "vkAllocateDescriptorSets");
	d->update_sets = (vks_update_sets_t)gdpa(device, "vkUpdateDescriptorSets");
	d->bind_pipeline = (vks_bind_pipeline_t)gdpa(device, "vkCmdBindPipeline");
	d->bind_sets = (vks_bind_sets_t)gdpa(device, "vkCmdBindDescriptorSets");
	d->push = (vks_push_t)gdpa(device, "vkCmdPushConstants");
	d->dispatch = (vks_dispatch_t)gdpa(device, "vkCmdDispatch");
	d->barrier = (vks_pipeline_barrier_t)gdpa(device, "vkCmdPipelineBarrier");
	d->write_ts = (vks_write_ts_t)gdpa(device, "vkCmdWriteTimestamp");
	d->fill = (vks_fill_t)gdpa(device, "vkCmdFillBuffer");
	d->copy = (vks_copy_t)gdpa(device, "vkCmdCopyBuffer");
	d->submit = (vks_queue_submit_t)gdpa(device, "vkQueueSubmit");
	d->create_pipelines = (vks_create_pipelines_t)gdpa(device, "vkCreateComputePipelines");
	d->wait_fences = (vks_wait_fences_t)gdpa(device, "vkWaitForFences");
	d->reset_fences = (vks_reset_fences_t)gdpa(device, "vkResetFences");
	if (!d->alloc_sets || !d->update_sets || !d->bind_pipeline || !d->bind_sets || !d->push || !d->dispatch ||
	    !d->barrier || !d->write_ts || !d->fill || !d->copy || !d->submit || !d->create_pipelines ||
	    !d->wait_fences || !d->reset_fences) {
		free(d);
		return NULL;
	}
	return d;
}

void vks_dev_free(vks_dev* d) { free(d); }

enum { VKS_MAX_BINDINGS = 16 };
typedef struct { uint32_t sType; const void* pNext; uint64_t pool; uint32_t count; const uint64_t* layouts; } vks_set_alloc_info;
typedef struct { uint64_t buffer, offset, range; } vks_buffer_info;
typedef struct {
	uint32_t sType; const void* pNext; uint64_t dstSet; uint32_t dstBinding, dstArrayElement, descriptorCount, descriptorType;
	const void* pImageInfo; const vks_buffer_info* pBufferInfo; const void* pTexelBufferView;
} vks_write;

int32_t vks_dispatch(vks_dev* d, void* cmd, uint64_t pipeline, uint64_t layout, uint64_t set_layout, uint64_t pool,
	uint32_t nbind, const uint64_t* buffers, const uint64_t* offsets, const uint64_t* ranges, const uint64_t* views,
	const void* push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz) {
	if (nbind > VKS_MAX_BINDINGS) return -13; // VK_ERROR_UNKNOWN
	uint64_t set = 0;
	if (nbind > 0) {
		vks_set_alloc_info ai = {34 /* DESCRIPTOR_SET_ALLOCATE_INFO */, NULL, pool, 1, &set_layout};
		int32_t r = d->alloc_sets(d->device, &ai, &set);
		if (r != 0) return r;
		vks_buffer_info bi[VKS_MAX_BINDINGS];
		vks_write w[VKS_MAX_BINDINGS];
		for (uint32_t i = 0; i < nbind; i++) {
			bi[i].buffer = buffers[i]; bi[i].offset = offsets[i]; bi[i].range = ranges[i];
			w[i].sType = 35; /* WRITE_DESCRIPTOR_SET */
			w[i].pNext = NULL; w[i].dstSet = set; w[i].dstBinding = i; w[i].dstArrayElement = 0;
			w[i].descriptorCount = 1; w[i].descriptorType = 7; /* STORAGE_BUFFER */
			w[i].pImageInfo = NULL; w[i].pBufferInfo = &bi[i]; w[i].pTexelBufferView = NULL;
			if (views[i] != 0) { /* a Texel binding: UNIFORM_TEXEL_BUFFER */
				w[i].descriptorType = 4; w[i].pBufferInfo = NULL; w[i].pTexelBufferView = &views[i];
			}
		}
		d->update_sets(d->device, nbind, w, 0, NULL);
	}
	d->bind_pipeline(cmd, 1 /* COMPUTE */, pipeline);
	if (nbind > 0) d->bind_sets(cmd, 1, layout, 0, 1, &set, 0, NULL);
	if (push_size > 0) d->push(cmd, layout, 0x20 /* COMPUTE stage */, 0, push_size, push);
	d->dispatch(cmd, gx, gy, gz);
	return 0;
}

typedef struct { uint32_t sType; const void* pNext; uint32_t src, dst; } vks_mem_barrier;

void vks_barrier(vks_dev* d, void* cmd, uint32_t src_stage, uint32_t dst_stage, uint32_t src_access, uint32_t dst_access) {
	vks_mem_barrier b = {46 /* MEMORY_BARRIER */, NULL, src_access, dst_access};
	d->barrier(cmd, src_stage, dst_stage, 0, 1, &b, 0, NULL, 0, NULL);
}

void vks_timestamp(vks_dev* d, void* cmd, uint32_t stage, uint64_t pool, uint32_t query) {
	d->write_ts(cmd, stage, pool, query);
}

void vks_fill(vks_dev* d, void* cmd, uint64_t buffer, uint64_t offset, uint64_t size, uint32_t value) {
	d->fill(cmd, buffer, offset, size, value);
}

typedef struct { uint64_t src, dst, size; } vks_copy_region;

void vks_copy(vks_dev* d, void* cmd, uint64_t src, uint64_t src_off, uint64_t dst, uint64_t dst_off, uint64_t size) {
	vks_copy_region r = {src_off, dst_off, size};
	d->copy(cmd, src, dst, 1, &r);
}

typedef struct {
	uint32_t sType; const void* pNext; uint32_t nwait; const void* wait; const void* wait_stages;
	uint32_t ncmd; void* const* cmds; uint32_t nsignal; const void* signal;
} vks_submit_info;

int32_t vks_submit(vks_dev* d, uintptr_t queue, uintptr_t cmd, uint64_t fence) {
	void* cmds[1] = {(void*)cmd};
	vks_submit_info si = {4 /* SUBMIT_INFO */, NULL, 0, NULL, NULL, 1, cmds, 0, NULL};
	return d->submit((void*)queue, 1, &si, fence);
}

typedef struct { uint32_t constantID, offset; size_t size; } vks_spec_entry;
typedef struct { uint32_t count; const vks_spec_entry* entries; size_t dataSize; const void* data; } vks_spec_info;
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags; uint32_t stage; uint64_t module;
	const char* pName; const vks_spec_info* pSpecializationInfo;
} vks_stage_info;
typedef struct {
	uint32_t sType; const void* pNext; uint32_t flags; vks_stage_info stage;
	uint64_t layout; uint64_t basePipelineHandle; int32_t basePipelineIndex;
} vks_compute_info;

int32_t vks_create_pipeline(vks_dev* d, uint64_t module, uint64_t layout, uint32_t n, const uint32_t* spec, uint64_t* pipeline) {
	vks_spec_entry* entries = NULL;
	uint32_t* data = NULL;
	vks_spec_info si;
	memset(&si, 0, sizeof si);
	if (n > 0) {
		entries = calloc(n, sizeof(vks_spec_entry));
		data = calloc(n, sizeof(uint32_t));
		if (!entries || !data) { free(entries); free(data); return -1; /* VK_ERROR_OUT_OF_HOST_MEMORY */ }
		for (uint32_t i = 0; i < n; i++) {
			entries[i].constantID = i; entries[i].offset = 4 * i; entries[i].size = 4;
			data[i] = spec[i];
		}
		si.count = n; si.entries = entries; si.dataSize = 4 * (size_t)n; si.data = data;
	}
	vks_compute_info ci;
	memset(&ci, 0, sizeof ci);
	ci.sType = 29; /* COMPUTE_PIPELINE_CREATE_INFO */
	ci.stage.sType = 18; /* PIPELINE_SHADER_STAGE_CREATE_INFO */
	ci.stage.stage = 0x20; /* COMPUTE */
	ci.stage.module = module;
	ci.stage.pName = "main";
	ci.stage.pSpecializationInfo = n > 0 ? &si : NULL;
	ci.layout = layout;
	ci.basePipelineIndex = -1;
	int32_t r = d->create_pipelines(d->device, 0, 1, &ci, NULL, pipeline);
	free(entries);
	free(data);
	return r;
}

int32_t vks_wait_reset(vks_dev* d, uint64_t fence, uint64_t timeout) {
	int32_t r = d->wait_fences(d->device, 1, &fence, 1, timeout);
	if (r != 0) return r; // VK_TIMEOUT (2) or an error: the fence stays signalled-or-pending
	return d->reset_fences(d->device, 1, &fence);
}
