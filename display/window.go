// Package display opens a GLFW window and a gpu.Device that presents to it: compute results reach
// the screen on the device, copied from a tensor into the swapchain image, with no trip through
// the host. Package gpu stays free of windowing headers; this package adds GLFW (go-gl/glfw v3.3)
// through gpu's generic hooks (extra extensions, an instance hook that creates the surface, a queue
// filter that keeps a family able to present, raw handles, and the queue lock).
//
// GLFW must be called from one OS thread: call Open, Poll, Present and Close from the main
// goroutine with runtime.LockOSThread in the main package's init (tests lock their goroutine).
package display

import (
	"fmt"
	"os"
	"sync"

	"github.com/go-gl/glfw/v3.3/glfw"
	vk "github.com/vulkan-go/vulkan"

	"github.com/vkseq/vkseq/gpu"
)

// ErrNoDisplay: GLFW could not start (no display server: DISPLAY unset or unreachable) or offers no
// Vulkan surface support. It wraps gpu.ErrNoDevice.
var ErrNoDisplay = fmt.Errorf("display: no display server or no Vulkan surface support: %w", gpu.ErrNoDevice)

// Options configure Open.
type Options struct {
	Title         string // window title
	Width, Height int    // initial client size in screen coordinates (0: 800×400)
	// VSync presents in FIFO mode (waits for the display's refresh); false prefers MAILBOX, then
	// IMMEDIATE, when the surface offers them.
	VSync bool
	// Hidden creates the window invisible (tests that must not steal focus); it still presents.
	Hidden bool
	// Device are further options for gpu.Open (device selection, validation, staging...).
	Device []gpu.Option
}

// Window is a GLFW window with a Vulkan surface, a swapchain and the gpu.Device that presents to it.
// The device's single queue family computes and presents, so no queue ownership transfer is needed;
// Open fails when no device has such a family.
type Window struct {
	win     *glfw.Window
	dev     *gpu.Device
	surface vk.Surface
	sc      *swapchain
	vsync   bool
	closed  bool
}

// GLFW is initialised once and stays so for the life of the process: terminating and
// initialising it again made its Vulkan support check fail now and then.
var glfwState struct {
	sync.Mutex
	ready bool
}

func glfwAcquire() error {
	glfwState.Lock()
	defer glfwState.Unlock()
	if glfwState.ready {
		return nil
	}
	why := "DISPLAY is " + fmt.Sprintf("%q", os.Getenv("DISPLAY"))
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		why = "DISPLAY and WAYLAND_DISPLAY are unset: start a display server (tools/with-display.sh starts Xvfb)"
	}
	if err := glfw.Init(); err != nil {
		return fmt.Errorf("%w: glfw.Init: %v (%s)", ErrNoDisplay, err, why)
	}
	if !glfw.VulkanSupported() {
		glfw.Terminate()
		return fmt.Errorf("%w: GLFW found no Vulkan loader or could not start (%s)", ErrNoDisplay, why)
	}
	glfwState.ready = true
	return nil
}

// Open creates a window with no client API, a Vulkan instance with the extensions GLFW requires,
// the window's surface, a device whose queue computes and presents to it (VK_KHR_swapchain
// enabled), and the swapchain. Errors wrap ErrNoDisplay when there is no display server, and
// gpu.ErrNoDevice when no device can present to the surface.
func Open(opt Options) (*Window, error) {
	if opt.Width <= 0 {
		opt.Width = 800
	}
	if opt.Height <= 0 {
		opt.Height = 400
	}
	if err := glfwAcquire(); err != nil {
		return nil, err
	}
	glfw.DefaultWindowHints()
	glfw.WindowHint(glfw.ClientAPI, glfw.NoAPI)
	if opt.Hidden {
		glfw.WindowHint(glfw.Visible, glfw.False)
	}
	win, err := glfw.CreateWindow(opt.Width, opt.Height, opt.Title, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: glfw.CreateWindow: %v", ErrNoDisplay, err)
	}
	w := &Window{win: win, vsync: opt.VSync}
	exts := win.GetRequiredInstanceExtensions()
	if len(exts) == 0 {
		w.destroyWindow()
		return nil, fmt.Errorf("%w: GLFW lists no instance extensions for Vulkan surfaces", ErrNoDisplay)
	}
	var surfaceErr error
	opts := append([]gpu.Option{}, opt.Device...)
	opts = append(opts,
		gpu.WithInstanceExtensions(exts...),
		gpu.WithDeviceExtensions("VK_KHR_swapchain"),
		gpu.WithInstanceHook(func(inst uintptr) (func(), error) {
			instance := vk.Instance(ptr(inst))
			p, err := win.CreateWindowSurface(instance, nil)
			if err != nil {
				surfaceErr = err
				return nil, fmt.Errorf("%w: creating the window surface: %v", ErrNoDisplay, err)
			}
			// go-gl/glfw v3.3 returns the address of the VkSurfaceKHR, which SurfaceFromPointer reads.
			w.surface = vk.SurfaceFromPointer(p)
			return func() { vk.DestroySurface(instance, w.surface, nil); w.surface = vk.NullSurface }, nil
		}),
		gpu.WithQueueFilter(func(_, phys uintptr, family uint32) (bool, error) {
			var ok vk.Bool32
			r := vk.GetPhysicalDeviceSurfaceSupport(vk.PhysicalDevice(ptr(phys)), family, w.surface, &ok)
			if r != vk.Success {
				return false, vkErr("vkGetPhysicalDeviceSurfaceSupportKHR", r)
			}
			return ok == vk.True, nil
		}),
	)
	dev, err := gpu.Open(opts...)
	if err != nil {
		w.destroyWindow()
		if surfaceErr != nil {
			return nil, err
		}
		return nil, fmt.Errorf("display: opening a device that presents to the window: %w", err)
	}
	w.dev = dev
	if err := dev.OnClose(w.destroySwapchain); err != nil {
		w.Close()
		return nil, err
	}
	w.sc = &swapchain{w: w}
	if err := w.sc.init(); err != nil {
		w.Close()
		return nil, err
	}
	fw, fh := win.GetFramebufferSize()
	if err := w.sc.recreate(fw, fh); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Device is the device that presents to the window; it is closed by Close.
func (w *Window) Device() *gpu.Device { return w.dev }

// GLFW returns the underlying GLFW window (for callbacks, SetSize, Iconify...); nil after Close.
func (w *Window) GLFW() *glfw.Window { return w.win }

// ShouldClose reports whether the user asked to close the window (true after Close).
func (w *Window) ShouldClose() bool { return w.closed || w.win.ShouldClose() }

// SetTitle sets the window title (nothing after Close).
func (w *Window) SetTitle(s string) {
	if !w.closed {
		w.win.SetTitle(s)
	}
}

// Poll processes pending window events (key callbacks run here).
func (w *Window) Poll() { glfw.PollEvents() }

// Close destroys the swapchain, the device (with every tensor, kernel and stream on it), the
// surface, the instance and the window. It is idempotent.
func (w *Window) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var err error
	if w.dev != nil {
		err = w.dev.Close() // runs destroySwapchain, then the surface's cleanup, then destroys the instance
	}
	w.destroyWindow()
	return err
}

func (w *Window) destroyWindow() {
	if w.win != nil {
		w.win.Destroy()
		w.win = nil
	}
}

func (w *Window) destroySwapchain() {
	if w.sc != nil {
		w.sc.destroy()
	}
}

// vkErr wraps a failed Vulkan call's result; device loss wraps gpu.ErrDeviceLost.
func vkErr(call string, r vk.Result) error {
	if r == vk.ErrorDeviceLost {
		return fmt.Errorf("%s: %w (VkResult %d)", call, gpu.ErrDeviceLost, r)
	}
	if r == vk.ErrorOutOfDeviceMemory || r == vk.ErrorOutOfHostMemory {
		return fmt.Errorf("%s: %w (VkResult %d)", call, gpu.ErrOutOfDeviceMemory, r)
	}
	return fmt.Errorf("display: %s failed: VkResult %d", call, r)
}

// errClosed is returned by calls after Close.
var errClosed = fmt.Errorf("display: window closed: %w", gpu.ErrClosed)
