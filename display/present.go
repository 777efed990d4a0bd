package display

import (
	"fmt"
	"image"

	vk "github.com/vulkan-go/vulkan"

	"github.com/vkseq/vkseq/gpu"
)

// Present copies img into the next swapchain image on the device and queues it for display.
// img is an I32 tensor [height, width] of packed 8-bit pixels in the order BGRA reports, with
// width, height the current Extent; the stream that wrote it must have been submitted (Submit or
// Run) before: the copy is ordered after it on the same queue, and no data goes through the host.
// presented is false when the swapchain went out of date (resize) or the window is minimised: the
// frame is dropped and the next Extent recreates the swapchain. img must not be written again
// until the next Present of this frame slot has begun (two frames are in flight).
func (w *Window) Present(img *gpu.Tensor) (presented bool, err error) {
	return w.present(img, nil)
}

// PresentCapture presents img as Present does and also copies the swapchain image, as written
// for display, back to the host: it waits for the frame and returns the image in RGBA order
// (nil when the frame was dropped).
func (w *Window) PresentCapture(img *gpu.Tensor) (*image.RGBA, error) {
	if w.closed {
		return nil, errClosed
	}
	s := w.sc
	if s.width == 0 {
		return nil, nil
	}
	capture, err := w.dev.NewTensor(gpu.I32, s.height, s.width)
	if err != nil {
		return nil, err
	}
	defer capture.Close()
	ok, err := w.present(img, capture)
	if err != nil || !ok {
		return nil, err
	}
	f := &s.frames[(s.cur+framesInFlight-1)%framesInFlight]
	if r := vk.WaitForFences(s.dev, 1, []vk.Fence{f.fence}, vk.True, waitTimeout); r != vk.Success {
		return nil, vkErr("vkWaitForFences", r)
	}
	px, err := capture.ReadInt32()
	if err != nil {
		return nil, err
	}
	return unpack(px, s.width, s.height, s.bgra), nil
}

// unpack converts packed pixels to an RGBA image.
func unpack(px []int32, width, height int, bgra bool) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, width, height))
	for i, p := range px {
		v := uint32(p)
		c0, c1, c2, c3 := byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		if bgra {
			c0, c2 = c2, c0
		}
		copy(im.Pix[4*i:], []byte{c0, c1, c2, c3})
	}
	return im
}

func (w *Window) present(img, capture *gpu.Tensor) (bool, error) {
	if w.closed {
		return false, errClosed
	}
	s := w.sc
	if img == nil {
		return false, fmt.Errorf("display: Present of a nil tensor: %w", gpu.ErrInvalid)
	}
	if s.width == 0 || s.handle == vk.NullSwapchain || s.dirty {
		return false, nil
	}
	if sh := img.Shape(); img.DType() != gpu.I32 || len(sh) != 2 || sh[0] != s.height || sh[1] != s.width {
		return false, fmt.Errorf("display: Present takes an i32 tensor [%d, %d] (height, width of Extent), got %v: %w",
			s.height, s.width, img, gpu.ErrInvalid)
	}
	buf, off, _, err := img.Buffer()
	if err != nil {
		return false, err
	}
	f := &s.frames[s.cur]
	if r := vk.WaitForFences(s.dev, 1, []vk.Fence{f.fence}, vk.True, waitTimeout); r != vk.Success {
		return false, vkErr("vkWaitForFences", r)
	}
	var idx uint32
	r := vk.AcquireNextImage(s.dev, s.handle, waitTimeout, f.acquired, vk.NullFence, &idx)
	switch r {
	case vk.Success:
	case vk.Suboptimal:
		s.dirty = true // present this one, recreate before the next
	case vk.ErrorOutOfDate:
		s.dirty = true
		return false, nil
	default:
		return false, vkErr("vkAcquireNextImageKHR", r)
	}
	if r := vk.ResetFences(s.dev, 1, []vk.Fence{f.fence}); r != vk.Success {
		return false, vkErr("vkResetFences", r)
	}
	if err := s.record(f.cmd, s.images[idx], vk.Buffer(ptr(buf)), off, capture); err != nil {
		return false, err
	}
	err = w.dev.WithQueue(func(q uintptr) error {
		queue := vk.Queue(ptr(q))
		submit := []vk.SubmitInfo{{
			SType:                vk.StructureTypeSubmitInfo,
			WaitSemaphoreCount:   1,
			PWaitSemaphores:      []vk.Semaphore{f.acquired},
			PWaitDstStageMask:    []vk.PipelineStageFlags{vk.PipelineStageFlags(vk.PipelineStageTransferBit)},
			CommandBufferCount:   1,
			PCommandBuffers:      []vk.CommandBuffer{f.cmd},
			SignalSemaphoreCount: 1,
			PSignalSemaphores:    []vk.Semaphore{s.done[idx]},
		}}
		if r := vk.QueueSubmit(queue, 1, submit, f.fence); r != vk.Success {
			return vkErr("vkQueueSubmit", r)
		}
		pi := &vk.PresentInfo{
			SType:              vk.StructureTypePresentInfo,
			WaitSemaphoreCount: 1,
			PWaitSemaphores:    []vk.Semaphore{s.done[idx]},
			SwapchainCount:     1,
			PSwapchains:        []vk.Swapchain{s.handle},
			PImageIndices:      []uint32{idx},
		}
		r := vk.QueuePresent(queue, pi)
		pi.Free()
		switch r {
		case vk.Success:
		case vk.Suboptimal, vk.ErrorOutOfDate:
			s.dirty = true
		default:
			return vkErr("vkQueuePresentKHR", r)
		}
		return nil
	})
	s.cur = (s.cur + 1) % framesInFlight
	return err == nil, err
}

// record fills cmd with: image → transfer destination, buffer → image copy, optionally image →
// capture buffer, and image → present source.
func (s *swapchain) record(cmd vk.CommandBuffer, im vk.Image, buf vk.Buffer, off uint64, capture *gpu.Tensor) error {
	if r := vk.ResetCommandBuffer(cmd, 0); r != vk.Success {
		return vkErr("vkResetCommandBuffer", r)
	}
	bi := &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo, Flags: vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit)}
	r := vk.BeginCommandBuffer(cmd, bi)
	bi.Free()
	if r != vk.Success {
		return vkErr("vkBeginCommandBuffer", r)
	}
	color := vk.ImageSubresourceRange{AspectMask: vk.ImageAspectFlags(vk.ImageAspectColorBit), LevelCount: 1, LayerCount: 1}
	layers := vk.ImageSubresourceLayers{AspectMask: vk.ImageAspectFlags(vk.ImageAspectColorBit), LayerCount: 1}
	barrier := func(srcStage, dstStage vk.PipelineStageFlagBits, src, dst vk.AccessFlagBits, from, to vk.ImageLayout) {
		b := []vk.ImageMemoryBarrier{{
			SType: vk.StructureTypeImageMemoryBarrier, SrcAccessMask: vk.AccessFlags(src), DstAccessMask: vk.AccessFlags(dst),
			OldLayout: from, NewLayout: to, SrcQueueFamilyIndex: vk.QueueFamilyIgnored, DstQueueFamilyIndex: vk.QueueFamilyIgnored,
			Image: im, SubresourceRange: color,
		}}
		vk.CmdPipelineBarrier(cmd, vk.PipelineStageFlags(srcStage), vk.PipelineStageFlags(dstStage), 0, 0, nil, 0, nil, 1, b)
	}
	// The compute results: Stream.Submit already ends with a barrier to later submissions; this one
	// also covers work an application recorded itself.
	mb := []vk.MemoryBarrier{{SType: vk.StructureTypeMemoryBarrier,
		SrcAccessMask: vk.AccessFlags(vk.AccessShaderWriteBit | vk.AccessTransferWriteBit),
		DstAccessMask: vk.AccessFlags(vk.AccessTransferReadBit)}}
	vk.CmdPipelineBarrier(cmd, vk.PipelineStageFlags(vk.PipelineStageComputeShaderBit|vk.PipelineStageTransferBit),
		vk.PipelineStageFlags(vk.PipelineStageTransferBit), 0, 1, mb, 0, nil, 0, nil)
	barrier(vk.PipelineStageTransferBit, vk.PipelineStageTransferBit, 0, vk.AccessTransferWriteBit,
		vk.ImageLayoutUndefined, vk.ImageLayoutTransferDstOptimal)
	region := []vk.BufferImageCopy{{
		BufferOffset:     vk.DeviceSize(off),
		ImageSubresource: layers,
		ImageExtent:      vk.Extent3D{Width: uint32(s.width), Height: uint32(s.height), Depth: 1},
	}}
	vk.CmdCopyBufferToImage(cmd, buf, im, vk.ImageLayoutTransferDstOptimal, 1, region)
	last := vk.ImageLayoutTransferDstOptimal
	if capture != nil {
		cbuf, coff, _, err := capture.Buffer()
		if err != nil {
			return err
		}
		barrier(vk.PipelineStageTransferBit, vk.PipelineStageTransferBit, vk.AccessTransferWriteBit, vk.AccessTransferReadBit,
			vk.ImageLayoutTransferDstOptimal, vk.ImageLayoutTransferSrcOptimal)
		back := []vk.BufferImageCopy{{
			BufferOffset:     vk.DeviceSize(coff),
			ImageSubresource: layers,
			ImageExtent:      vk.Extent3D{Width: uint32(s.width), Height: uint32(s.height), Depth: 1},
		}}
		vk.CmdCopyImageToBuffer(cmd, im, vk.ImageLayoutTransferSrcOptimal, vk.Buffer(ptr(cbuf)), 1, back)
		hb := []vk.MemoryBarrier{{SType: vk.StructureTypeMemoryBarrier,
			SrcAccessMask: vk.AccessFlags(vk.AccessTransferWriteBit), DstAccessMask: vk.AccessFlags(vk.AccessHostReadBit)}}
		vk.CmdPipelineBarrier(cmd, vk.PipelineStageFlags(vk.PipelineStageTransferBit), vk.PipelineStageFlags(vk.PipelineStageHostBit), 0, 1, hb, 0, nil, 0, nil)
		last = vk.ImageLayoutTransferSrcOptimal
	}
	barrier(vk.PipelineStageTransferBit, vk.PipelineStageBottomOfPipeBit, vk.AccessTransferWriteBit, 0, last, vk.ImageLayoutPresentSrc)
	if r := vk.EndCommandBuffer(cmd); r != vk.Success {
		return vkErr("vkEndCommandBuffer", r)
	}
	return nil
}

// WaitPresented blocks until every copy that Present submitted has finished, so that the tensors
// given to Present may be rewritten or closed (e.g. when the window's size changes, before the
// FramesInFlight rule would free them).
func (w *Window) WaitPresented() error {
	if w.closed || w.sc == nil {
		return nil
	}
	s := w.sc
	for i := range s.frames {
		f := s.frames[i].fence
		if f == vk.NullFence {
			continue
		}
		if r := vk.WaitForFences(s.dev, 1, []vk.Fence{f}, vk.True, waitTimeout); r != vk.Success {
			return vkErr("vkWaitForFences", r)
		}
	}
	return nil
}
