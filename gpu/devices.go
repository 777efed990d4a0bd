package gpu

import (
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	vk "github.com/vulkan-go/vulkan"
)

// DeviceType is the kind of a Vulkan device.
type DeviceType string

// Device types, as VkPhysicalDeviceType reports them.
const (
	Discrete   DeviceType = "discrete"
	Integrated DeviceType = "integrated"
	Virtual    DeviceType = "virtual"
	CPU        DeviceType = "cpu" // e.g. Mesa's lavapipe
	Other      DeviceType = "other"
)

// Heap is one memory heap of a device.
type Heap struct {
	Size        uint64 `json:"size"`         // bytes
	DeviceLocal bool   `json:"device_local"` // VK_MEMORY_HEAP_DEVICE_LOCAL_BIT
}

// DeviceInfo describes one Vulkan device and the capabilities vkseq uses.
type DeviceInfo struct {
	Index         int        `json:"index"` // position in Devices(); what VKSEQ_DEVICE=<n> selects
	Name          string     `json:"name"`
	Type          DeviceType `json:"type"`
	VendorID      uint32     `json:"vendor_id"`
	DeviceID      uint32     `json:"device_id"`
	Driver        string     `json:"driver"`      // driver name and info (Vulkan 1.2), e.g. "llvmpipe: Mesa 22.3.6"
	APIVersion    string     `json:"api_version"` // e.g. "1.3.230"
	DriverVersion uint32     `json:"driver_version"`
	UUID          string     `json:"uuid,omitempty"` // deviceUUID in hex; duplicates (same UUID) are listed once

	SubgroupSize            uint32    `json:"subgroup_size"`
	SubgroupOps             []string  `json:"subgroup_ops"` // basic, vote, arithmetic, ballot, shuffle, shuffle_relative, clustered, quad
	SubgroupInCompute       bool      `json:"subgroup_in_compute"`
	Float16Storage          bool      `json:"float16_storage"`    // storageBuffer16BitAccess
	Float16Arithmetic       bool      `json:"float16_arithmetic"` // shaderFloat16
	Int8Storage             bool      `json:"int8_storage"`       // storageBuffer8BitAccess
	Int8Arithmetic          bool      `json:"int8_arithmetic"`    // shaderInt8
	CooperativeMatrix       bool      `json:"cooperative_matrix"` // VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix
	SharedMemory            uint32    `json:"shared_memory"`      // maxComputeSharedMemorySize, bytes
	MaxWorkgroupSize        [3]uint32 `json:"max_workgroup_size"`
	MaxWorkgroupInvocations uint32    `json:"max_workgroup_invocations"`
	MaxWorkgroupCount       [3]uint32 `json:"max_workgroup_count"`
	MaxStorageBufferRange   uint64    `json:"max_storage_buffer_range"` // bytes one binding may cover
	StorageAlignment        uint64    `json:"storage_alignment"`        // minStorageBufferOffsetAlignment, bytes
	TexelAlignment          uint64    `json:"texel_alignment"`          // minTexelBufferOffsetAlignment, bytes
	MaxTexelElements        uint64    `json:"max_texel_elements"`       // maxTexelBufferElements (16-byte texels of a Texel binding)
	MaxPushConstants        uint32    `json:"max_push_constants"`       // bytes
	MaxAllocationSize       uint64    `json:"max_allocation_size,omitempty"`
	MaxAllocations          uint32    `json:"max_allocations"`
	Heaps                   []Heap    `json:"heaps"`
	HostVisibleDeviceLocal  bool      `json:"host_visible_device_local"` // a memory type both device-local and host-visible
	Timestamps              bool      `json:"timestamps"`                // the compute queue can write timestamps
	TimestampPeriod         float64   `json:"timestamp_period_ns"`       // nanoseconds per timestamp tick

	// Usable is false when vkseq cannot run on the device; Reason says why.
	Usable bool   `json:"usable"`
	Reason string `json:"reason,omitempty"`

	phys        vk.PhysicalDevice
	queueFamily uint32
	tsBits      uint32
	apiVersion  uint32
	portability bool
}

var subgroupOpNames = []string{"basic", "vote", "arithmetic", "ballot", "shuffle", "shuffle_relative", "clustered", "quad"}

func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>22, (v>>12)&0x3ff, v&0xfff)
}

func deviceTypeOf(t vk.PhysicalDeviceType) DeviceType {
	switch t {
	case vk.PhysicalDeviceTypeDiscreteGpu:
		return Discrete
	case vk.PhysicalDeviceTypeIntegratedGpu:
		return Integrated
	case vk.PhysicalDeviceTypeVirtualGpu:
		return Virtual
	case vk.PhysicalDeviceTypeCpu:
		return CPU
	}
	return Other
}

func deviceExtensions(pd vk.PhysicalDevice) (map[string]bool, error) {
	var n uint32
	if err := check("vkEnumerateDeviceExtensionProperties", vk.EnumerateDeviceExtensionProperties(pd, "", &n, nil)); err != nil {
		return nil, err
	}
	props := make([]vk.ExtensionProperties, n)
	if n > 0 {
		if err := check("vkEnumerateDeviceExtensionProperties", vk.EnumerateDeviceExtensionProperties(pd, "", &n, props)); err != nil {
			return nil, err
		}
	}
	out := map[string]bool{}
	for i := range props[:n] {
		props[i].Deref()
		out[vk.ToString(props[i].ExtensionName[:])] = true
	}
	return out, nil
}

// describe reads everything vkseq needs to know of a physical device.
func describe(in *instance, pd vk.PhysicalDevice) (DeviceInfo, error) {
	var props vk.PhysicalDeviceProperties
	vk.GetPhysicalDeviceProperties(pd, &props)
	props.Deref()
	props.Limits.Deref()
	lim := props.Limits
	info := DeviceInfo{
		Name:                    vk.ToString(props.DeviceName[:]),
		Type:                    deviceTypeOf(props.DeviceType),
		VendorID:                props.VendorID,
		DeviceID:                props.DeviceID,
		APIVersion:              versionString(props.ApiVersion),
		DriverVersion:           props.DriverVersion,
		SharedMemory:            lim.MaxComputeSharedMemorySize,
		MaxWorkgroupSize:        lim.MaxComputeWorkGroupSize,
		MaxWorkgroupInvocations: lim.MaxComputeWorkGroupInvocations,
		MaxWorkgroupCount:       lim.MaxComputeWorkGroupCount,
		MaxStorageBufferRange:   uint64(lim.MaxStorageBufferRange),
		StorageAlignment:        uint64(lim.MinStorageBufferOffsetAlignment),
		TexelAlignment:          uint64(lim.MinTexelBufferOffsetAlignment),
		MaxTexelElements:        uint64(lim.MaxTexelBufferElements),
		MaxPushConstants:        lim.MaxPushConstantsSize,
		MaxAllocations:          lim.MaxMemoryAllocationCount,
		TimestampPeriod:         float64(lim.TimestampPeriod),
		phys:                    pd,
		apiVersion:              props.ApiVersion,
	}
	c := queryCaps(in.gipa, in.handle, pd, props.ApiVersion)
	info.SubgroupSize = c.subgroupSize
	info.SubgroupInCompute = c.subgroupStages&0x20 != 0
	for i, name := range subgroupOpNames {
		if c.subgroupOps&(1<<uint(i)) != 0 {
			info.SubgroupOps = append(info.SubgroupOps, name)
		}
	}
	info.Float16Storage, info.Float16Arithmetic = c.storage16, c.float16
	info.Int8Storage, info.Int8Arithmetic = c.storage8, c.int8
	info.MaxAllocationSize = c.maxAllocationSize
	if c.hasUUID {
		info.UUID = hex.EncodeToString(c.uuid[:])
	}
	info.Driver = c.driverName
	if c.driverInfo != "" {
		info.Driver += ": " + c.driverInfo
	}

	var mp vk.PhysicalDeviceMemoryProperties
	vk.GetPhysicalDeviceMemoryProperties(pd, &mp)
	mp.Deref()
	for i := uint32(0); i < mp.MemoryHeapCount; i++ {
		mp.MemoryHeaps[i].Deref()
		h := mp.MemoryHeaps[i]
		info.Heaps = append(info.Heaps, Heap{Size: uint64(h.Size), DeviceLocal: h.Flags&vk.MemoryHeapFlags(vk.MemoryHeapDeviceLocalBit) != 0})
	}
	for i := uint32(0); i < mp.MemoryTypeCount; i++ {
		mp.MemoryTypes[i].Deref()
		f := mp.MemoryTypes[i].PropertyFlags
		if f&vk.MemoryPropertyFlags(vk.MemoryPropertyDeviceLocalBit) != 0 && f&vk.MemoryPropertyFlags(vk.MemoryPropertyHostVisibleBit) != 0 {
			info.HostVisibleDeviceLocal = true
		}
	}

	var nq uint32
	vk.GetPhysicalDeviceQueueFamilyProperties(pd, &nq, nil)
	qs := make([]vk.QueueFamilyProperties, nq)
	vk.GetPhysicalDeviceQueueFamilyProperties(pd, &nq, qs)
	found := false
	for i := range qs[:nq] {
		qs[i].Deref()
		if qs[i].QueueFlags&vk.QueueFlags(vk.QueueComputeBit) == 0 {
			continue
		}
		// The first compute family with timestamps wins; a family without them only if none has them.
		if !found || (info.tsBits == 0 && qs[i].TimestampValidBits > 0) {
			info.queueFamily, info.tsBits, found = uint32(i), qs[i].TimestampValidBits, true
		}
	}
	info.Timestamps = info.tsBits > 0 && info.TimestampPeriod > 0

	exts, err := deviceExtensions(pd)
	if err != nil {
		return info, err
	}
	info.CooperativeMatrix = exts["VK_KHR_cooperative_matrix"] || exts["VK_NV_cooperative_matrix"]
	info.portability = exts["VK_KHR_portability_subset"]

	info.Usable = true
	switch {
	case !found:
		info.Usable, info.Reason = false, "no compute queue"
	case props.ApiVersion < vk.MakeVersion(1, 2, 0):
		info.Usable, info.Reason = false, "Vulkan "+info.APIVersion+" < 1.2 (vkseq's shaders are SPIR-V 1.5)"
	}
	return info, nil
}

// listDevices describes every physical device of in, listing devices with the same UUID once.
func listDevices(in *instance) ([]DeviceInfo, error) {
	pds, err := in.physicalDevices()
	if err != nil {
		return nil, err
	}
	var out []DeviceInfo
	seen := map[string]bool{}
	for _, pd := range pds {
		d, err := describe(in, pd)
		if err != nil {
			return nil, err
		}
		if d.UUID != "" && seen[d.UUID] {
			continue
		}
		seen[d.UUID] = true
		d.Index = len(out)
		out = append(out, d)
	}
	return out, nil
}

// Devices lists every Vulkan device on this machine with its capabilities. It returns an error
// wrapping ErrNoDevice when no Vulkan loader or driver is installed.
func Devices() ([]DeviceInfo, error) {
	in, err := newInstance(false, nil)
	if err != nil {
		return nil, err
	}
	defer in.destroy()
	return listDevices(in)
}

var typeRank = map[DeviceType]int{Discrete: 0, Integrated: 1, Virtual: 2, CPU: 3, Other: 4}

// choose picks a device: sel (an index or a case-insensitive name substring) when not empty,
// else the first usable discrete GPU, else integrated, virtual, CPU.
func choose(devs []DeviceInfo, sel string) (DeviceInfo, error) {
	if len(devs) == 0 {
		return DeviceInfo{}, fmt.Errorf("%w: the Vulkan loader found no device; %s", ErrNoDevice, installHint)
	}
	names := make([]string, len(devs))
	for i, d := range devs {
		names[i] = fmt.Sprintf("%d: %s (%s)", d.Index, d.Name, d.Type)
	}
	avail := strings.Join(names, "; ")
	if sel != "" {
		var match []DeviceInfo
		if n, err := strconv.Atoi(sel); err == nil {
			if n < 0 || n >= len(devs) {
				return DeviceInfo{}, fmt.Errorf("%w: device index %d out of range; devices are %s", ErrNoDevice, n, avail)
			}
			match = devs[n : n+1]
		} else {
			for _, d := range devs {
				if strings.Contains(strings.ToLower(d.Name), strings.ToLower(sel)) {
					match = append(match, d)
				}
			}
		}
		if len(match) == 0 {
			return DeviceInfo{}, fmt.Errorf("%w: no device matches %q; devices are %s", ErrNoDevice, sel, avail)
		}
		if !match[0].Usable {
			return DeviceInfo{}, fmt.Errorf("%w: device %q cannot run vkseq: %s", ErrNoDevice, match[0].Name, match[0].Reason)
		}
		return match[0], nil
	}
	best := -1
	for i, d := range devs {
		if d.Usable && (best < 0 || typeRank[d.Type] < typeRank[devs[best].Type]) {
			best = i
		}
	}
	if best < 0 {
		return DeviceInfo{}, fmt.Errorf("%w: no device can run vkseq (%s: %s); %s", ErrNoDevice, devs[0].Name, devs[0].Reason, installHint)
	}
	return devs[best], nil
}

// selectionFromEnv returns VKSEQ_DEVICE.
func selectionFromEnv() string { return strings.TrimSpace(os.Getenv("VKSEQ_DEVICE")) }
