package gpu

import (
	"fmt"
	"os"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

const validationLayer = "VK_LAYER_KHRONOS_validation"

// instance owns a VkInstance and, with validation, its debug messenger.
type instance struct {
	gipa      unsafe.Pointer
	handle    vk.Instance
	messenger uint64
	validate  bool
	external  bool     // the application's VkInstance (Wrap): never destroyed here
	cleanups  []func() // from WithInstanceHook, run before the instance is destroyed
}

// validationRequested reports whether VKSEQ_VALIDATE asks for the validation layer.
func validationRequested() bool {
	v := os.Getenv("VKSEQ_VALIDATE")
	return v != "" && v != "0" && v != "false"
}

func instanceLayers() (map[string]bool, error) {
	var n uint32
	if err := check("vkEnumerateInstanceLayerProperties", vk.EnumerateInstanceLayerProperties(&n, nil)); err != nil {
		return nil, err
	}
	props := make([]vk.LayerProperties, n)
	if n > 0 {
		if err := check("vkEnumerateInstanceLayerProperties", vk.EnumerateInstanceLayerProperties(&n, props)); err != nil {
			return nil, err
		}
	}
	out := map[string]bool{}
	for i := range props[:n] {
		props[i].Deref()
		out[vk.ToString(props[i].LayerName[:])] = true
	}
	return out, nil
}

func instanceExtensions(layer string) (map[string]bool, error) {
	var n uint32
	name := ""
	if layer != "" {
		name = layer + "\x00"
	}
	if err := check("vkEnumerateInstanceExtensionProperties", vk.EnumerateInstanceExtensionProperties(name, &n, nil)); err != nil {
		return nil, err
	}
	props := make([]vk.ExtensionProperties, n)
	if n > 0 {
		if err := check("vkEnumerateInstanceExtensionProperties", vk.EnumerateInstanceExtensionProperties(name, &n, props)); err != nil {
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

// newInstance creates a Vulkan 1.2 instance; validate enables VK_LAYER_KHRONOS_validation and a
// messenger that records every warning and error (see ValidationMessages).
// extra are further extensions to enable (WithInstanceExtensions); a missing one is an error.
func newInstance(validate bool, extra []string) (*instance, error) {
	gipa, err := loadVulkan()
	if err != nil {
		return nil, err
	}
	exts, err := instanceExtensions("")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	var layers, extensions []string
	var flags vk.InstanceCreateFlags
	if exts["VK_KHR_portability_enumeration"] { // MoltenVK lists its devices only with this
		extensions = append(extensions, "VK_KHR_portability_enumeration\x00")
		flags |= 0x1 // VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR
	}
	for _, e := range extra {
		if !exts[e] {
			return nil, fmt.Errorf("%w: instance extension %s was asked for but the Vulkan loader does not offer it", ErrUnsupported, e)
		}
		extensions = append(extensions, e+"\x00")
	}
	if validate {
		have, err := instanceLayers()
		if err != nil {
			return nil, err
		}
		if !have[validationLayer] {
			return nil, fmt.Errorf("%w: validation was asked for (VKSEQ_VALIDATE) but %s is not installed "+
				"(Debian/Ubuntu: apt-get install vulkan-validationlayers)", ErrUnsupported, validationLayer)
		}
		layers = append(layers, validationLayer+"\x00")
		lexts, err := instanceExtensions(validationLayer)
		if err != nil {
			return nil, err
		}
		if !exts["VK_EXT_debug_utils"] && !lexts["VK_EXT_debug_utils"] {
			return nil, fmt.Errorf("%w: VK_EXT_debug_utils is missing, so validation messages cannot be collected", ErrUnsupported)
		}
		extensions = append(extensions, "VK_EXT_debug_utils\x00")
	}
	app := &vk.ApplicationInfo{
		SType:              vk.StructureTypeApplicationInfo,
		PApplicationName:   "vkseq\x00",
		ApplicationVersion: vk.MakeVersion(0, 1, 0),
		PEngineName:        "vkseq\x00",
		EngineVersion:      vk.MakeVersion(0, 1, 0),
		ApiVersion:         vk.MakeVersion(1, 2, 0),
	}
	info := &vk.InstanceCreateInfo{
		SType:                   vk.StructureTypeInstanceCreateInfo,
		Flags:                   flags,
		PApplicationInfo:        app,
		EnabledLayerCount:       uint32(len(layers)),
		PpEnabledLayerNames:     layers,
		EnabledExtensionCount:   uint32(len(extensions)),
		PpEnabledExtensionNames: extensions,
	}
	var h vk.Instance
	r := vk.CreateInstance(info, nil, &h)
	info.Free()
	app.Free()
	if err := check("vkCreateInstance", r); err != nil {
		return nil, fmt.Errorf("%w; %s", err, installHint)
	}
	if err := vk.InitInstance(h); err != nil {
		vk.DestroyInstance(h, nil)
		return nil, fmt.Errorf("%w: %v", ErrNoDevice, err)
	}
	in := &instance{gipa: gipa, handle: h, validate: validate}
	if validate {
		m, err := createMessenger(gipa, h)
		if err != nil {
			vk.DestroyInstance(h, nil)
			return nil, err
		}
		in.messenger = m
	}
	return in, nil
}

func (in *instance) physicalDevices() ([]vk.PhysicalDevice, error) {
	var n uint32
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.handle, &n, nil)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	pds := make([]vk.PhysicalDevice, n)
	if err := check("vkEnumeratePhysicalDevices", vk.EnumeratePhysicalDevices(in.handle, &n, pds)); err != nil {
		return nil, err
	}
	return pds[:n], nil
}

func (in *instance) destroy() {
	for i := len(in.cleanups) - 1; i >= 0; i-- {
		in.cleanups[i]()
	}
	in.cleanups = nil
	if in.messenger != 0 {
		destroyMessenger(in.gipa, in.handle, in.messenger)
		in.messenger = 0
	}
	if in.handle != nil && !in.external {
		vk.DestroyInstance(in.handle, nil)
	}
	in.handle = nil
}
