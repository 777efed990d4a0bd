package display

import (
	"fmt"

	"github.com/go-gl/glfw/v3.3/glfw"
	vk "github.com/vulkan-go/vulkan"
)

// FramesInFlight is how many presented frames may still be in flight: a tensor given to Present
// must not be rewritten by later work until FramesInFlight more frames have been presented (or
// the device is idle), so apps alternate that many images.
const FramesInFlight = 2

const framesInFlight = FramesInFlight

const waitTimeout = uint64(10e9) // 10 s: a fence or an image that takes longer is an error

// frame holds what one frame in flight records and waits on.
type frame struct {
	cmd      vk.CommandBuffer
	acquired vk.Semaphore // signalled when the swapchain image is ours
	fence    vk.Fence     // signalled when the copy (and capture) finished
}

// swapchain is the VkSwapchainKHR of a window and the per-frame objects presenting needs.
type swapchain struct {
	w      *Window
	dev    vk.Device
	phys   vk.PhysicalDevice
	family uint32
	pool   vk.CommandPool
	frames [framesInFlight]frame
	cur    int

	handle vk.Swapchain
	format vk.Format
	space  vk.ColorSpace
	bgra   bool
	width  int // 0 while minimised
	height int
	images []vk.Image
	done   []vk.Semaphore // per image: signalled by the copy, waited on by the present
	dirty  bool           // out of date or suboptimal: recreate before the next frame
}

func (s *swapchain) init() error {
	h := s.w.dev.Handles()
	s.dev = vk.Device(ptr(h.Device))
	s.phys = vk.PhysicalDevice(ptr(h.PhysicalDevice))
	s.family = h.QueueFamily
	if err := s.chooseFormat(); err != nil {
		return err
	}
	pi := &vk.CommandPoolCreateInfo{
		SType:            vk.StructureTypeCommandPoolCreateInfo,
		Flags:            vk.CommandPoolCreateFlags(vk.CommandPoolCreateResetCommandBufferBit),
		QueueFamilyIndex: s.family,
	}
	var pool vk.CommandPool // a local: the binding passes its address to C
	r := vk.CreateCommandPool(s.dev, pi, nil, &pool)
	pi.Free()
	if r != vk.Success {
		return vkErr("vkCreateCommandPool", r)
	}
	s.pool = pool
	for i := range s.frames {
		f := &s.frames[i]
		ai := &vk.CommandBufferAllocateInfo{
			SType:              vk.StructureTypeCommandBufferAllocateInfo,
			CommandPool:        s.pool,
			Level:              vk.CommandBufferLevelPrimary,
			CommandBufferCount: 1,
		}
		cmds := make([]vk.CommandBuffer, 1)
		r := vk.AllocateCommandBuffers(s.dev, ai, cmds)
		ai.Free()
		if r != vk.Success {
			return vkErr("vkAllocateCommandBuffers", r)
		}
		f.cmd = cmds[0]
		var err error
		if f.acquired, err = s.semaphore(); err != nil {
			return err
		}
		fi := &vk.FenceCreateInfo{SType: vk.StructureTypeFenceCreateInfo, Flags: vk.FenceCreateFlags(vk.FenceCreateSignaledBit)}
		var fence vk.Fence
		r = vk.CreateFence(s.dev, fi, nil, &fence)
		fi.Free()
		if r != vk.Success {
			return vkErr("vkCreateFence", r)
		}
		f.fence = fence
	}
	return nil
}

func (s *swapchain) semaphore() (vk.Semaphore, error) {
	si := &vk.SemaphoreCreateInfo{SType: vk.StructureTypeSemaphoreCreateInfo}
	var sem vk.Semaphore
	r := vk.CreateSemaphore(s.dev, si, nil, &sem)
	si.Free()
	if r != vk.Success {
		return vk.NullSemaphore, vkErr("vkCreateSemaphore", r)
	}
	return sem, nil
}

// chooseFormat picks an 8-bit UNORM BGRA or RGBA format: the kernels write sRGB-encoded bytes.
func (s *swapchain) chooseFormat() error {
	var n uint32
	if r := vk.GetPhysicalDeviceSurfaceFormats(s.phys, s.w.surface, &n, nil); r != vk.Success {
		return vkErr("vkGetPhysicalDeviceSurfaceFormatsKHR", r)
	}
	fs := make([]vk.SurfaceFormat, n)
	if r := vk.GetPhysicalDeviceSurfaceFormats(s.phys, s.w.surface, &n, fs); r != vk.Success {
		return vkErr("vkGetPhysicalDeviceSurfaceFormatsKHR", r)
	}
	var have []vk.Format
	for i := range fs[:n] {
		fs[i].Deref()
		have = append(have, fs[i].Format)
		switch fs[i].Format {
		case vk.FormatB8g8r8a8Unorm, vk.FormatR8g8b8a8Unorm:
			s.format, s.space, s.bgra = fs[i].Format, fs[i].ColorSpace, fs[i].Format == vk.FormatB8g8r8a8Unorm
			return nil
		}
	}
	return fmt.Errorf("display: the surface offers no B8G8R8A8_UNORM or R8G8B8A8_UNORM format (formats %v)", have)
}

// waitIdle waits for every submission of the device (the swapchain's and vkseq's) under the queue lock.
func (s *swapchain) waitIdle() error {
	return s.w.dev.WithQueue(func(uintptr) error {
		if r := vk.DeviceWaitIdle(s.dev); r != vk.Success {
			return vkErr("vkDeviceWaitIdle", r)
		}
		return nil
	})
}

// recreate builds the swapchain for a framebuffer of fw×fh pixels (0: minimised, no swapchain
// images until it is restored), replacing the old one.
func (s *swapchain) recreate(fw, fh int) error {
	if err := s.waitIdle(); err != nil {
		return err
	}
	s.dirty = false
	var caps vk.SurfaceCapabilities
	if r := vk.GetPhysicalDeviceSurfaceCapabilities(s.phys, s.w.surface, &caps); r != vk.Success {
		return vkErr("vkGetPhysicalDeviceSurfaceCapabilitiesKHR", r)
	}
	caps.Deref()
	caps.CurrentExtent.Deref()
	caps.MinImageExtent.Deref()
	caps.MaxImageExtent.Deref()
	ext := caps.CurrentExtent
	if ext.Width == 0xFFFFFFFF { // the surface takes the swapchain's size
		ext.Width = clamp(uint32(max(fw, 0)), caps.MinImageExtent.Width, caps.MaxImageExtent.Width)
		ext.Height = clamp(uint32(max(fh, 0)), caps.MinImageExtent.Height, caps.MaxImageExtent.Height)
	}
	if fw == 0 || fh == 0 || ext.Width == 0 || ext.Height == 0 {
		s.width, s.height = 0, 0 // minimised: keep the old swapchain (if any) until restored
		return nil
	}
	need := vk.ImageUsageFlags(vk.ImageUsageTransferDstBit | vk.ImageUsageTransferSrcBit)
	if caps.SupportedUsageFlags&need != need {
		return fmt.Errorf("display: the surface's images cannot be transfer destinations and sources (usage %#x)", caps.SupportedUsageFlags)
	}
	count := caps.MinImageCount + 1
	if caps.MaxImageCount > 0 && count > caps.MaxImageCount {
		count = caps.MaxImageCount
	}
	mode, err := s.presentMode()
	if err != nil {
		return err
	}
	alpha := vk.CompositeAlphaOpaqueBit
	if caps.SupportedCompositeAlpha&vk.CompositeAlphaFlags(alpha) == 0 {
		alpha = vk.CompositeAlphaInheritBit
	}
	old := s.handle
	ci := &vk.SwapchainCreateInfo{
		SType:            vk.StructureTypeSwapchainCreateInfo,
		Surface:          s.w.surface,
		MinImageCount:    count,
		ImageFormat:      s.format,
		ImageColorSpace:  s.space,
		ImageExtent:      ext,
		ImageArrayLayers: 1,
		ImageUsage:       need,
		ImageSharingMode: vk.SharingModeExclusive,
		PreTransform:     caps.CurrentTransform,
		CompositeAlpha:   alpha,
		PresentMode:      mode,
		Clipped:          vk.True,
		OldSwapchain:     old,
	}
	var sc vk.Swapchain
	r := vk.CreateSwapchain(s.dev, ci, nil, &sc)
	ci.Free()
	if r != vk.Success {
		return vkErr("vkCreateSwapchainKHR", r)
	}
	s.destroyImages()
	if old != vk.NullSwapchain {
		vk.DestroySwapchain(s.dev, old, nil)
	}
	s.handle = sc
	var n uint32
	if r := vk.GetSwapchainImages(s.dev, sc, &n, nil); r != vk.Success {
		return vkErr("vkGetSwapchainImagesKHR", r)
	}
	s.images = make([]vk.Image, n)
	if r := vk.GetSwapchainImages(s.dev, sc, &n, s.images); r != vk.Success {
		return vkErr("vkGetSwapchainImagesKHR", r)
	}
	s.images = s.images[:n]
	for range s.images {
		sem, err := s.semaphore()
		if err != nil {
			return err
		}
		s.done = append(s.done, sem)
	}
	s.width, s.height = int(ext.Width), int(ext.Height)
	return nil
}

func (s *swapchain) presentMode() (vk.PresentMode, error) {
	if s.w.vsync {
		return vk.PresentModeFifo, nil // always supported
	}
	var n uint32
	if r := vk.GetPhysicalDeviceSurfacePresentModes(s.phys, s.w.surface, &n, nil); r != vk.Success {
		return 0, vkErr("vkGetPhysicalDeviceSurfacePresentModesKHR", r)
	}
	modes := make([]vk.PresentMode, n)
	if r := vk.GetPhysicalDeviceSurfacePresentModes(s.phys, s.w.surface, &n, modes); r != vk.Success {
		return 0, vkErr("vkGetPhysicalDeviceSurfacePresentModesKHR", r)
	}
	for _, want := range []vk.PresentMode{vk.PresentModeMailbox, vk.PresentModeImmediate} {
		for _, m := range modes[:n] {
			if m == want {
				return m, nil
			}
		}
	}
	return vk.PresentModeFifo, nil
}

func clamp(v, lo, hi uint32) uint32 { return min(max(v, lo), hi) }

func (s *swapchain) destroyImages() {
	for _, sem := range s.done {
		vk.DestroySemaphore(s.dev, sem, nil)
	}
	s.done, s.images = nil, nil
}

// destroy runs from the device's OnClose hook: the device is idle.
func (s *swapchain) destroy() {
	if s.dev == nil {
		return
	}
	s.destroyImages()
	if s.handle != vk.NullSwapchain {
		vk.DestroySwapchain(s.dev, s.handle, nil)
		s.handle = vk.NullSwapchain
	}
	for i := range s.frames {
		f := &s.frames[i]
		if f.acquired != vk.NullSemaphore {
			vk.DestroySemaphore(s.dev, f.acquired, nil)
		}
		if f.fence != vk.NullFence {
			vk.DestroyFence(s.dev, f.fence, nil)
		}
		*f = frame{}
	}
	if s.pool != vk.NullCommandPool {
		vk.DestroyCommandPool(s.dev, s.pool, nil) // frees the command buffers
		s.pool = vk.NullCommandPool
	}
	s.dev = nil
}

// Extent returns the size in pixels of the images Present takes, recreating the swapchain first
// when the window was resized, restored, or the last present found it out of date. It returns 0, 0
// while the window is minimised (or has no area): render nothing then (WaitEvents sleeps).
func (w *Window) Extent() (width, height int, err error) {
	if w.closed {
		return 0, 0, errClosed
	}
	fw, fh := w.win.GetFramebufferSize()
	if w.win.GetAttrib(glfw.Iconified) == glfw.True {
		fw, fh = 0, 0
	}
	s := w.sc
	if fw == 0 || fh == 0 {
		s.width, s.height = 0, 0
		return 0, 0, nil
	}
	if s.dirty || s.handle == vk.NullSwapchain || fw != s.width || fh != s.height {
		if err := s.recreate(fw, fh); err != nil {
			return 0, 0, err
		}
	}
	return s.width, s.height, nil
}

// BGRA reports the byte order Present expects in each 32-bit pixel: true for B, G, R, A in memory
// order (the uint32 value B | G<<8 | R<<16 | A<<24), false for R, G, B, A.
func (w *Window) BGRA() bool { return w.sc.bgra }

// WaitEvents sleeps until a window event arrives (use while minimised).
func (w *Window) WaitEvents() { glfw.WaitEventsTimeout(0.1) }
