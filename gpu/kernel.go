package gpu

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// Access says how a kernel uses one of its storage-buffer bindings; streams use it to place barriers.
type Access uint8

// Binding access modes.
const (
	Read      Access = 1
	Write     Access = 2
	ReadWrite Access = Read | Write
	// Texel (with Read, never Write) binds the tensor as a uniform texel buffer of 16-byte
	// RGBA32UI texels (GLSL usamplerBuffer, read with texelFetch) instead of a storage buffer.
	// On CPU devices (lavapipe) texel fetches are gathers without a per-lane loop, much cheaper
	// than storage-buffer loads. The tensor's byte offset must be a multiple of the device's
	// TexelAlignment (Tensor.TexelBindable). A size that is not a multiple of 16 bytes is
	// rounded up: the bytes of the last texel past the tensor's end (allocation padding, or the
	// next elements of the tensor a view was made from) are read but mean nothing.
	Texel Access = 4
)

// maxBindings is the most storage buffers one kernel may bind.
const maxBindings = 16

// KernelSpec describes a compute kernel: its SPIR-V, its bindings (set 0, bindings 0..n-1, all
// storage buffers), the size of its push-constant block, and its specialization constants.
type KernelSpec struct {
	Name     string   // identifies the SPIR-V: one Name, one module
	SPIRV    []byte   // the module; entry point "main"
	Bindings []Access // one per binding, in binding order
	PushSize int      // bytes of push constants (a multiple of 4, at most the device's MaxPushConstants)
	// Spec holds specialization constant i (constant_id = i) as 32 bits: use FloatBits for floats.
	Spec []uint32
}

// FloatBits returns the bits of f for a float specialization constant.
func FloatBits(f float32) uint32 { return math.Float32bits(f) }

// Kernel is a compute pipeline built from a KernelSpec. Kernels are cached per device by
// (Name, Bindings, PushSize, Spec) and destroyed with the device.
type Kernel struct {
	d         *Device
	spec      KernelSpec
	setLayout vk.DescriptorSetLayout
	layout    vk.PipelineLayout
	pipeline  vk.Pipeline
}

// Name is the kernel's name.
func (k *Kernel) Name() string { return k.spec.Name }

type kernelCache struct {
	d         *Device
	mu        sync.Mutex
	modules   map[string]vk.ShaderModule
	kernels   map[string][]*Kernel              // by Name; the few variants of a name are compared field by field
	setLayout map[[2]int]vk.DescriptorSetLayout // by (bindings, mask of Texel bindings)
	layouts   map[[3]int]vk.PipelineLayout      // by (bindings, mask of Texel bindings, push bytes)
	// building holds the pipelines being compiled, by Name: the driver's compile runs outside mu
	// (lavapipe's LLVM takes up to tens of seconds for a large kernel), so that goroutines
	// building different kernels do so at once, and those asking for the same one wait for it.
	building map[string][]*kernelBuild
}

// kernelBuild is one pipeline compile in progress; done is closed when k or err is set.
type kernelBuild struct {
	spec KernelSpec
	done chan struct{}
	k    *Kernel
	err  error
}

func newKernelCache(d *Device) *kernelCache {
	return &kernelCache{d: d, modules: map[string]vk.ShaderModule{}, kernels: map[string][]*Kernel{},
		setLayout: map[[2]int]vk.DescriptorSetLayout{}, layouts: map[[3]int]vk.PipelineLayout{},
		building: map[string][]*kernelBuild{}}
}

// same reports whether s and o build the same kernel (the cache key: all but SPIRV).
func (s KernelSpec) same(o KernelSpec) bool {
	return s.Name == o.Name && s.PushSize == o.PushSize && slices.Equal(s.Bindings, o.Bindings) && slices.Equal(s.Spec, o.Spec)
}

// Kernel returns the compute pipeline for spec, building it on first use.
func (d *Device) Kernel(spec KernelSpec) (*Kernel, error) {
	if err := d.use(); err != nil {
		return nil, err
	}
	switch {
	case spec.Name == "":
		return nil, fmt.Errorf("%w: kernel without a name", ErrInvalid)
	case len(spec.Bindings) > maxBindings:
		return nil, fmt.Errorf("%w: kernel %s has %d bindings, at most %d", ErrInvalid, spec.Name, len(spec.Bindings), maxBindings)
	case spec.PushSize < 0 || spec.PushSize%4 != 0 || uint32(spec.PushSize) > d.info.MaxPushConstants:
		return nil, fmt.Errorf("%w: kernel %s: push constants of %d bytes (want a multiple of 4 up to %d)", ErrInvalid, spec.Name, spec.PushSize, d.info.MaxPushConstants)
	}
	for i, a := range spec.Bindings {
		if a&ReadWrite == 0 || a&^(ReadWrite|Texel) != 0 {
			return nil, fmt.Errorf("%w: kernel %s: binding %d has no access mode", ErrInvalid, spec.Name, i)
		}
		if a&Texel != 0 && a&Write != 0 {
			return nil, fmt.Errorf("%w: kernel %s: binding %d: a Texel binding is read-only", ErrInvalid, spec.Name, i)
		}
	}
	c := d.kernels
	c.mu.Lock()
	if c.kernels == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: kernel %s: the device is closed", ErrClosed, spec.Name)
	}
	for _, k := range c.kernels[spec.Name] {
		if k.spec.same(spec) {
			c.mu.Unlock()
			return k, nil
		}
	}
	for _, b := range c.building[spec.Name] {
		if b.spec.same(spec) {
			c.mu.Unlock()
			<-b.done
			return b.k, b.err
		}
	}
	// The kernel keeps its own copies (the caller's slices then need not escape), and not the
	// SPIR-V, whose module is cached by Name.
	own := KernelSpec{Name: spec.Name, Bindings: slices.Clone(spec.Bindings), PushSize: spec.PushSize, Spec: slices.Clone(spec.Spec)}
	b := &kernelBuild{spec: own, done: make(chan struct{})}
	c.building[spec.Name] = append(c.building[spec.Name], b)
	mod, sl, pl, err := c.prepare(own, spec.SPIRV)
	c.mu.Unlock()
	if err == nil {
		b.k, err = c.compile(own, mod, sl, pl)
	}
	if err != nil {
		b.err = fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	c.mu.Lock()
	if rest := slices.DeleteFunc(c.building[spec.Name], func(x *kernelBuild) bool { return x == b }); len(rest) > 0 {
		c.building[spec.Name] = rest
	} else {
		delete(c.building, spec.Name)
	}
	if b.k != nil { // destroy waits for the builds in progress: the cache is still open
		c.kernels[spec.Name] = append(c.kernels[spec.Name], b.k)
	}
	c.mu.Unlock()
	close(b.done)
	return b.k, b.err
}

func (c *kernelCache) module(name string, code []byte) (vk.ShaderModule, error) {
	if m, ok := c.modules[name]; ok {
		return m, nil
	}
	words, err := ParseSPIRV(code)
	if err != nil {
		return vk.NullShaderModule, err
	}
	mi := &vk.ShaderModuleCreateInfo{
		SType:    vk.StructureTypeShaderModuleCreateInfo,
		CodeSize: uint(len(words) * 4),
		PCode:    words,
	}
	var m vk.ShaderModule
	r := vk.CreateShaderModule(c.d.dev, mi, nil, &m)
	mi.Free()
	if err := check("vkCreateShaderModule", r); err != nil {
		return vk.NullShaderModule, err
	}
	c.modules[name] = m
	return m, nil
}

// texelMask has bit i set when binding i is a Texel binding.
func texelMask(b []Access) int {
	m := 0
	for i, a := range b {
		if a&Texel != 0 {
			m |= 1 << i
		}
	}
	return m
}

func (c *kernelCache) descriptorLayout(n, texel int) (vk.DescriptorSetLayout, error) {
	if l, ok := c.setLayout[[2]int{n, texel}]; ok {
		return l, nil
	}
	binds := make([]vk.DescriptorSetLayoutBinding, n)
	for i := range binds {
		ty := vk.DescriptorTypeStorageBuffer
		if texel&(1<<i) != 0 {
			ty = vk.DescriptorTypeUniformTexelBuffer
		}
		binds[i] = vk.DescriptorSetLayoutBinding{
			Binding:         uint32(i),
			DescriptorType:  ty,
			DescriptorCount: 1,
			StageFlags:      vk.ShaderStageFlags(vk.ShaderStageComputeBit),
		}
	}
	li := &vk.DescriptorSetLayoutCreateInfo{
		SType:        vk.StructureTypeDescriptorSetLayoutCreateInfo,
		BindingCount: uint32(n),
		PBindings:    binds,
	}
	var l vk.DescriptorSetLayout
	r := vk.CreateDescriptorSetLayout(c.d.dev, li, nil, &l)
	li.Free()
	if err := check("vkCreateDescriptorSetLayout", r); err != nil {
		return vk.NullDescriptorSetLayout, err
	}
	c.setLayout[[2]int{n, texel}] = l
	return l, nil
}

func (c *kernelCache) pipelineLayout(n, texel, push int) (vk.DescriptorSetLayout, vk.PipelineLayout, error) {
	sl, err := c.descriptorLayout(n, texel)
	if err != nil {
		return sl, vk.NullPipelineLayout, err
	}
	if l, ok := c.layouts[[3]int{n, texel, push}]; ok {
		return sl, l, nil
	}
	li := &vk.PipelineLayoutCreateInfo{
		SType:          vk.StructureTypePipelineLayoutCreateInfo,
		SetLayoutCount: 1,
		PSetLayouts:    []vk.DescriptorSetLayout{sl},
	}
	if push > 0 {
		li.PushConstantRangeCount = 1
		li.PPushConstantRanges = []vk.PushConstantRange{{StageFlags: vk.ShaderStageFlags(vk.ShaderStageComputeBit), Size: uint32(push)}}
	}
	var l vk.PipelineLayout
	r := vk.CreatePipelineLayout(c.d.dev, li, nil, &l)
	li.Free()
	if err := check("vkCreatePipelineLayout", r); err != nil {
		return sl, vk.NullPipelineLayout, err
	}
	c.layouts[[3]int{n, texel, push}] = l
	return sl, l, nil
}

// prepare makes (or finds) the shader module and the layouts of a kernel; c.mu is held.
func (c *kernelCache) prepare(spec KernelSpec, code []byte) (vk.ShaderModule, vk.DescriptorSetLayout, vk.PipelineLayout, error) {
	mod, err := c.module(spec.Name, code)
	if err != nil {
		return mod, vk.NullDescriptorSetLayout, vk.NullPipelineLayout, err
	}
	sl, pl, err := c.pipelineLayout(len(spec.Bindings), texelMask(spec.Bindings), spec.PushSize)
	return mod, sl, pl, err
}

// compile creates the pipeline (the driver's compile); c.mu is not held. The module and layouts
// live until the cache is destroyed.
func (c *kernelCache) compile(spec KernelSpec, mod vk.ShaderModule, sl vk.DescriptorSetLayout, pl vk.PipelineLayout) (*Kernel, error) {
	// The pipeline is created from C memory alone (the shim): the binding's slice conversions can
	// be freed by finalizers while a long driver compile is still reading them.
	var spec0 *C.uint32_t
	if len(spec.Spec) > 0 {
		spec0 = (*C.uint32_t)(unsafe.Pointer(&spec.Spec[0]))
	}
	var pipe C.uint64_t
	t0 := time.Now()
	r := vk.Result(C.vks_create_pipeline(c.d.fast, moduleHandle(mod), layoutHandle(pl), C.uint32_t(len(spec.Spec)), spec0, &pipe))
	if err := check("vkCreateComputePipelines", r); err != nil {
		return nil, err
	}
	logBuild(spec, time.Since(t0))
	var p vk.Pipeline
	*(*C.uint64_t)(unsafe.Pointer(&p)) = pipe
	return &Kernel{d: c.d, spec: spec, setLayout: sl, layout: pl, pipeline: p}, nil
}

func (c *kernelCache) destroy() {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Compiles in progress use the modules and layouts: wait for them (a goroutine that called
	// Kernel before Close).
	for len(c.building) > 0 {
		var wait []chan struct{}
		for _, bs := range c.building {
			for _, b := range bs {
				wait = append(wait, b.done)
			}
		}
		c.mu.Unlock()
		for _, w := range wait {
			<-w
		}
		c.mu.Lock()
	}
	dev := c.d.dev
	for _, ks := range c.kernels {
		for _, k := range ks {
			vk.DestroyPipeline(dev, k.pipeline, nil)
		}
	}
	for _, l := range c.layouts {
		vk.DestroyPipelineLayout(dev, l, nil)
	}
	for _, l := range c.setLayout {
		vk.DestroyDescriptorSetLayout(dev, l, nil)
	}
	for _, m := range c.modules {
		vk.DestroyShaderModule(dev, m, nil)
	}
	c.kernels, c.layouts, c.setLayout, c.modules = nil, nil, nil, nil
}
