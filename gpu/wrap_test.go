package gpu

import (
	"testing"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkseq/vkseq/shaders"
)

// appVulkan is what an application with its own renderer owns: an instance, a device with one
// compute queue, and (with validation) its own debug messenger, which outlives vkseq's Device.
type appVulkan struct {
	inst      vk.Instance
	phys      vk.PhysicalDevice
	dev       vk.Device
	queue     vk.Queue
	family    uint32
	messenger uint64
	gipa      unsafe.Pointer
}

func newAppVulkan(t *testing.T, validate bool) *appVulkan {
	t.Helper()
	gipa, err := LoaderProcAddr()
	if err != nil {
		t.Fatal(err)
	}
	a := &appVulkan{gipa: gipa}
	var layers, exts []string
	if validate {
		layers, exts = []string{validationLayer + "\x00"}, []string{"VK_EXT_debug_utils\x00"}
	}
	app := &vk.ApplicationInfo{SType: vk.StructureTypeApplicationInfo, PApplicationName: "app\x00", ApiVersion: vk.MakeVersion(1, 2, 0)}
	info := &vk.InstanceCreateInfo{SType: vk.StructureTypeInstanceCreateInfo, PApplicationInfo: app,
		EnabledLayerCount: uint32(len(layers)), PpEnabledLayerNames: layers,
		EnabledExtensionCount: uint32(len(exts)), PpEnabledExtensionNames: exts}
	var inst vk.Instance
	if r := vk.CreateInstance(info, nil, &inst); r != vk.Success {
		t.Fatalf("vkCreateInstance: %d", r)
	}
	a.inst = inst
	if err := vk.InitInstance(inst); err != nil {
		t.Fatal(err)
	}
	if validate {
		if a.messenger, err = createMessenger(gipa, inst); err != nil {
			t.Fatal(err)
		}
	}
	in := &instance{gipa: gipa, handle: inst, external: true}
	devs, err := listDevices(in)
	if err != nil {
		t.Fatal(err)
	}
	chosen, err := choose(devs, selectionFromEnv())
	if err != nil {
		t.Fatal(err)
	}
	a.phys, a.family = chosen.phys, chosen.queueFamily
	prio := []float32{1}
	qi := []vk.DeviceQueueCreateInfo{{SType: vk.StructureTypeDeviceQueueCreateInfo, QueueFamilyIndex: a.family, QueueCount: 1, PQueuePriorities: prio}}
	di := &vk.DeviceCreateInfo{SType: vk.StructureTypeDeviceCreateInfo, QueueCreateInfoCount: 1, PQueueCreateInfos: qi}
	var dev vk.Device
	if r := vk.CreateDevice(a.phys, di, nil, &dev); r != vk.Success {
		t.Fatalf("vkCreateDevice: %d", r)
	}
	a.dev = dev
	var q vk.Queue
	vk.GetDeviceQueue(dev, a.family, 0, &q)
	a.queue = q
	return a
}

func (a *appVulkan) destroy() {
	if a.dev != nil {
		vk.DestroyDevice(a.dev, nil)
	}
	if a.messenger != 0 {
		destroyMessenger(a.gipa, a.inst, a.messenger)
	}
	vk.DestroyInstance(a.inst, nil)
}

// TestWrap runs vkseq on an application's own instance, device and queue: a kernel on its queue,
// the application writing a vkseq tensor's buffer with its own command buffer on the shared queue,
// and the ownership split: Close destroys vkseq's objects only (the validation layer reports any
// object left on the device when the application destroys it), and the device keeps working.
func TestWrap(t *testing.T) {
	validate := validationRequested()
	a := newAppVulkan(t, validate)
	defer func() {
		a.destroy()
		msgs, n := ValidationMessages()
		for _, m := range msgs {
			t.Errorf("%v", m)
		}
		if n > len(msgs) {
			t.Errorf("... and %d more validation messages", n-len(msgs))
		}
	}()
	d, err := Wrap(External{
		Instance: uintptr(unsafe.Pointer(a.inst)), PhysicalDevice: uintptr(unsafe.Pointer(a.phys)),
		Device: uintptr(unsafe.Pointer(a.dev)), Queue: uintptr(unsafe.Pointer(a.queue)), QueueFamily: a.family,
	})
	if err != nil {
		t.Fatal(err)
	}
	if h := d.Handles(); h.Device != uintptr(unsafe.Pointer(a.dev)) || h.QueueFamily != a.family {
		t.Errorf("Handles %+v do not name the application's device and family %d", h, a.family)
	}

	// A vkseq kernel on the application's queue.
	code, err := shaders.SPIRV("copy")
	if err != nil {
		t.Fatal(err)
	}
	k, err := d.Kernel(KernelSpec{Name: "copy", SPIRV: code, Bindings: []Access{Read, Write}, PushSize: 4, Spec: []uint32{64}})
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 1000)
	for i := range in {
		in[i] = float32(i) - 321.5
	}
	src, err := d.FromFloat32(in, len(in))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := d.NewTensor(F32, len(in))
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Fill(float32(nanBits())); err != nil {
		t.Fatal(err)
	}
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Dispatch(k, [3]uint32{(250 + 63) / 64, 1, 1}, Push(uint32(250)), src, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	out, err := dst.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("copy on the wrapped device: out[%d] = %v, want %v", i, out[i], in[i])
		}
	}

	// The application writes the tensor's buffer in its own command buffer, on the shared queue.
	buf, off, size, err := dst.Buffer()
	if err != nil {
		t.Fatal(err)
	}
	pi := &vk.CommandPoolCreateInfo{SType: vk.StructureTypeCommandPoolCreateInfo, QueueFamilyIndex: a.family}
	var pool vk.CommandPool
	if r := vk.CreateCommandPool(a.dev, pi, nil, &pool); r != vk.Success {
		t.Fatalf("vkCreateCommandPool: %d", r)
	}
	cmd, err := allocCommandBuffer(a.dev, pool)
	if err != nil {
		t.Fatal(err)
	}
	fence, err := createFence(a.dev)
	if err != nil {
		t.Fatal(err)
	}
	bi := &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo}
	if r := vk.BeginCommandBuffer(cmd, bi); r != vk.Success {
		t.Fatalf("vkBeginCommandBuffer: %d", r)
	}
	const pattern = 0x40490fdb // float32 bits of π
	vk.CmdFillBuffer(cmd, vk.Buffer(cptr(uintptr(buf))), vk.DeviceSize(off), vk.DeviceSize(size), pattern)
	if r := vk.EndCommandBuffer(cmd); r != vk.Success {
		t.Fatalf("vkEndCommandBuffer: %d", r)
	}
	err = d.WithQueue(func(q uintptr) error {
		si := []vk.SubmitInfo{{SType: vk.StructureTypeSubmitInfo, CommandBufferCount: 1, PCommandBuffers: []vk.CommandBuffer{cmd}}}
		return check("vkQueueSubmit", vk.QueueSubmit(vk.Queue(cptr(q)), 1, si, fence))
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := vk.WaitForFences(a.dev, 1, []vk.Fence{fence}, vk.True, fenceTimeout); r != vk.Success {
		t.Fatalf("vkWaitForFences: %d", r)
	}
	out, err = dst.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != float32(3.1415927) {
			t.Fatalf("after the application's fill, out[%d] = %v, want π", i, v)
		}
	}

	// Ownership: Close leaves the application's device usable.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if r := vk.DeviceWaitIdle(a.dev); r != vk.Success {
		t.Fatalf("the application's device after Close: vkDeviceWaitIdle = %d", r)
	}
	vk.DestroyFence(a.dev, fence, nil)
	vk.DestroyCommandPool(a.dev, pool, nil)
}

func nanBits() float64 { var z float64; return z / z }

func TestWrapRejects(t *testing.T) {
	if _, err := Wrap(External{}); err == nil {
		t.Fatal("Wrap of zero handles succeeded")
	}
}
