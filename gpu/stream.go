package gpu

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// StreamOption configures NewStream.
type StreamOption func(*streamConfig)

type streamConfig struct{ timestamps int }

// WithTimestamps records a GPU timestamp before and after each dispatch, for up to max dispatches
// per submission; Timings reports them after Wait.
func WithTimestamps(max int) StreamOption { return func(c *streamConfig) { c.timestamps = max } }

// Timing is the GPU time of one recorded command.
type Timing struct {
	Name     string        // kernel name, or "fill" / "copy"
	Start    time.Duration // from the first timed command's start
	Duration time.Duration
}

type streamState int

const (
	idle streamState = iota
	recording
	submitted
	sealed // the stream of a recorded Graph: it records nothing more
)

type byteRange struct {
	buf    uintptr
	lo, hi uint64
}

func overlaps(rs []byteRange, r byteRange) bool {
	for _, x := range rs {
		if x.buf == r.buf && x.lo < r.hi && r.lo < x.hi {
			return true
		}
	}
	return false
}

// Stream records many commands (dispatches, fills, copies) into one command buffer and submits
// them at once. It inserts the barriers itself: a command that reads or writes memory an earlier
// command of the stream wrote, or writes memory an earlier one read, waits for it. After Wait the
// stream can record again. A Stream is not safe for concurrent use; use one per goroutine
// (docs/design.md §3).
type Stream struct {
	d         *Device
	pool      vk.CommandPool
	cmd       vk.CommandBuffer
	fence     vk.Fence
	descPools []vk.DescriptorPool
	curPool   int
	query     vk.QueryPool
	maxTimed  int
	names     []string
	timings   []Timing
	state     streamState
	written   []byteRange
	read      []byteRange
	temps     []*Tensor
	closed    bool
	graph     *Graph // non-nil for the stream of a Graph (recording into it, or sealed)
	bind      struct {
		bufs, offs, ranges, views [maxBindings]C.uint64_t
		reads, writes             []byteRange
	}
}

const descSetsPerPool = 256

// NewStream creates a stream on d.
func (d *Device) NewStream(opts ...StreamOption) (*Stream, error) {
	if err := d.use(); err != nil {
		return nil, err
	}
	var cfg streamConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timestamps > 0 && !d.info.Timestamps {
		return nil, fmt.Errorf("%w: device %q has no timestamps on its compute queue", ErrUnsupported, d.info.Name)
	}
	s := &Stream{d: d, maxTimed: cfg.timestamps}
	if err := s.create(); err != nil {
		s.destroy()
		return nil, err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		s.destroy()
		return nil, fmt.Errorf("%w: device %q", ErrClosed, d.info.Name)
	}
	d.streams[s] = struct{}{}
	d.mu.Unlock()
	return s, nil
}

func (s *Stream) create() error {
	d := s.d
	pi := &vk.CommandPoolCreateInfo{SType: vk.StructureTypeCommandPoolCreateInfo, QueueFamilyIndex: d.info.queueFamily}
	var pool vk.CommandPool
	r := vk.CreateCommandPool(d.dev, pi, nil, &pool)
	pi.Free()
	if err := check("vkCreateCommandPool", r); err != nil {
		return err
	}
	s.pool = pool
	cmd, err := allocCommandBuffer(d.dev, pool)
	if err != nil {
		return err
	}
	s.cmd = cmd
	if s.fence, err = createFence(d.dev); err != nil {
		return err
	}
	if s.maxTimed > 0 {
		qi := &vk.QueryPoolCreateInfo{SType: vk.StructureTypeQueryPoolCreateInfo, QueryType: vk.QueryTypeTimestamp, QueryCount: uint32(2 * s.maxTimed)}
		var q vk.QueryPool
		r := vk.CreateQueryPool(d.dev, qi, nil, &q)
		qi.Free()
		if err := check("vkCreateQueryPool", r); err != nil {
			return err
		}
		s.query = q
	}
	return s.addDescriptorPool()
}

func (s *Stream) addDescriptorPool() error {
	sizes := []vk.DescriptorPoolSize{
		{Type: vk.DescriptorTypeStorageBuffer, DescriptorCount: descSetsPerPool * 8},
		{Type: vk.DescriptorTypeUniformTexelBuffer, DescriptorCount: descSetsPerPool * 2},
	}
	pi := &vk.DescriptorPoolCreateInfo{
		SType:         vk.StructureTypeDescriptorPoolCreateInfo,
		MaxSets:       descSetsPerPool,
		PoolSizeCount: uint32(len(sizes)),
		PPoolSizes:    sizes,
	}
	var p vk.DescriptorPool
	r := vk.CreateDescriptorPool(s.d.dev, pi, nil, &p)
	pi.Free()
	if err := check("vkCreateDescriptorPool", r); err != nil {
		return err
	}
	s.descPools = append(s.descPools, p)
	return nil
}

func (s *Stream) usable() error {
	if s.closed {
		return fmt.Errorf("%w: stream", ErrClosed)
	}
	return s.d.use()
}

func (s *Stream) begin() error {
	if s.state == recording {
		return nil
	}
	if s.state == submitted {
		return fmt.Errorf("%w: the stream was submitted; Wait before recording again", ErrInvalid)
	}
	if s.state == sealed {
		return errSealed
	}
	flags := vk.CommandBufferUsageFlags(vk.CommandBufferUsageOneTimeSubmitBit)
	if s.graph != nil {
		flags = 0 // submitted again and again
	}
	bi := &vk.CommandBufferBeginInfo{SType: vk.StructureTypeCommandBufferBeginInfo, Flags: flags}
	r := vk.BeginCommandBuffer(s.cmd, bi)
	bi.Free()
	if err := check("vkBeginCommandBuffer", r); err != nil {
		return err
	}
	if s.query != vk.NullQueryPool {
		vk.CmdResetQueryPool(s.cmd, s.query, 0, uint32(2*s.maxTimed))
	}
	s.state = recording
	s.names = s.names[:0]
	s.written, s.read = s.written[:0], s.read[:0]
	return nil
}

var (
	errSealed    = fmt.Errorf("%w: the stream belongs to a recorded Graph and records nothing more", ErrInvalid)
	errRecording = fmt.Errorf("%w: a stream recording a Graph is not submitted or waited on "+
		"(a host round trip inside a recording would not be replayed)", ErrInvalid)
)

// hazard places a barrier when the new command's reads or writes depend on earlier commands.
func (s *Stream) hazard(reads, writes []byteRange) {
	need := false
	for _, r := range reads {
		if overlaps(s.written, r) {
			need = true
			break
		}
	}
	for _, w := range writes {
		if need {
			break
		}
		need = overlaps(s.written, w) || overlaps(s.read, w)
	}
	if need {
		C.vks_barrier(s.d.fast, unsafe.Pointer(s.cmd), stageAny, stageAny, accessAnyWrite, accessShaderRead|accessTransferRead|accessAnyWrite)
		s.written, s.read = s.written[:0], s.read[:0]
	}
	s.read = append(s.read, reads...)
	s.written = append(s.written, writes...)
}

func (s *Stream) timestamp(before bool) error {
	if s.query == vk.NullQueryPool {
		return nil
	}
	i := len(s.names)
	if i >= s.maxTimed {
		return fmt.Errorf("%w: the stream times at most %d commands per submission (WithTimestamps)", ErrInvalid, s.maxTimed)
	}
	q := 2 * i
	if !before {
		q++
	}
	C.vks_timestamp(s.d.fast, unsafe.Pointer(s.cmd), stageBottom, queryHandle(s.query), C.uint32_t(q))
	return nil
}

func (s *Stream) rangeOf(t *Tensor) byteRange {
	return byteRange{uintptr(unsafe.Pointer(t.blk.buf)), t.off, t.off + alignUp(max(t.bytes, 4), 4)}
}

// texelView returns the texel view of t for a Texel binding (see TexelBindable).
func (s *Stream) texelView(t *Tensor) (C.uint64_t, error) {
	if p := t.texelProblem(); p != "" {
		return 0, fmt.Errorf("%w: texel binding: %s", ErrUnsupported, p)
	}
	v, err := t.mem.texelView(t.blk, t.off, t.texelSize())
	if err != nil {
		return 0, err
	}
	return C.uint64_t(uintptr(unsafe.Pointer(v))), nil
}

// Dispatch records kernel k over groups workgroups with push constants push (exactly k's PushSize
// bytes; see Push) and tensors bound to bindings 0..n-1 in order.
func (s *Stream) Dispatch(k *Kernel, groups [3]uint32, push []byte, tensors ...*Tensor) error {
	if err := s.usable(); err != nil {
		return err
	}
	if k == nil || k.d != s.d {
		return fmt.Errorf("%w: kernel of another device (or nil)", ErrInvalid)
	}
	name := k.spec.Name
	if len(tensors) != len(k.spec.Bindings) {
		return fmt.Errorf("%w: kernel %s binds %d tensors, got %d", ErrInvalid, name, len(k.spec.Bindings), len(tensors))
	}
	if len(push) != k.spec.PushSize {
		return fmt.Errorf("%w: kernel %s takes %d bytes of push constants, got %d", ErrInvalid, name, k.spec.PushSize, len(push))
	}
	lim := s.d.info.MaxWorkgroupCount
	for i, g := range groups {
		if g > lim[i] {
			return fmt.Errorf("%w: kernel %s: %d workgroups on axis %d, the device allows %d (fold the grid into more axes)", ErrInvalid, name, g, i, lim[i])
		}
	}
	// The binding arrays and range lists live in the stream, so that recording allocates nothing
	// here (arrays passed to C would escape to the heap).
	bufs, offs, ranges, views := &s.bind.bufs, &s.bind.offs, &s.bind.ranges, &s.bind.views
	reads, writes := s.bind.reads[:0], s.bind.writes[:0]
	for i, t := range tensors {
		if err := t.usable(); err != nil {
			return fmt.Errorf("kernel %s binding %d: %w", name, i, err)
		}
		if t.d != s.d {
			return fmt.Errorf("%w: kernel %s binding %d: tensor of another device", ErrInvalid, name, i)
		}
		rg := s.rangeOf(t)
		size := rg.hi - rg.lo
		if size > s.d.info.MaxStorageBufferRange {
			return fmt.Errorf("%w: kernel %s binding %d: %v is %d bytes, more than the device binds at once (%d); split it with Window",
				ErrUnsupported, name, i, t, size, s.d.info.MaxStorageBufferRange)
		}
		bufs[i], offs[i], ranges[i], views[i] = bufferHandle(t.blk.buf), C.uint64_t(t.off), C.uint64_t(size), 0
		if k.spec.Bindings[i]&Texel != 0 {
			v, err := s.texelView(t)
			if err != nil {
				return fmt.Errorf("kernel %s binding %d: %w", name, i, err)
			}
			views[i] = v
		}
		if k.spec.Bindings[i]&Read != 0 {
			reads = append(reads, rg)
		}
		if k.spec.Bindings[i]&Write != 0 {
			writes = append(writes, rg)
		}
	}
	if err := s.begin(); err != nil {
		return err
	}
	if groups[0] == 0 || groups[1] == 0 || groups[2] == 0 {
		return nil // nothing to run
	}
	if s.graph != nil {
		s.graph.note(tensors...)
	}
	s.bind.reads, s.bind.writes = reads, writes
	s.hazard(reads, writes)
	if err := s.timestamp(true); err != nil {
		return err
	}
	var pushPtr unsafe.Pointer
	if len(push) > 0 {
		pushPtr = unsafe.Pointer(&push[0])
	}
	for {
		r := vk.Result(C.vks_dispatch(s.d.fast, unsafe.Pointer(s.cmd), pipelineHandle(k.pipeline), layoutHandle(k.layout), setLayoutHandle(k.setLayout),
			poolHandle(s.descPools[s.curPool]), C.uint32_t(len(tensors)), &bufs[0], &offs[0], &ranges[0], &views[0],
			pushPtr, C.uint32_t(len(push)), C.uint32_t(groups[0]), C.uint32_t(groups[1]), C.uint32_t(groups[2])))
		if r == vk.ErrorOutOfPoolMemory || r == vk.ErrorFragmentedPool {
			s.curPool++
			if s.curPool == len(s.descPools) {
				if err := s.addDescriptorPool(); err != nil {
					return err
				}
			}
			continue
		}
		if err := check("vkAllocateDescriptorSets", r); err != nil {
			return fmt.Errorf("kernel %s: %w", name, err)
		}
		break
	}
	if err := s.timestamp(false); err != nil {
		return err
	}
	s.names = append(s.names, name)
	return nil
}

// Fill records setting every element of t to v (as float16 for F16 tensors, int32(v) for I32).
func (s *Stream) Fill(t *Tensor, v float32) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return err
	}
	if t.d != s.d {
		return fmt.Errorf("%w: fill of a tensor of another device", ErrInvalid)
	}
	var pattern uint32
	switch t.dtype {
	case F32:
		pattern = math.Float32bits(v)
	case F16:
		h := uint32(f16bits(v))
		pattern = h | h<<16
	case I32:
		pattern = uint32(int32(v))
	}
	if err := s.begin(); err != nil {
		return err
	}
	if s.graph != nil {
		s.graph.note(t)
	}
	rg := s.rangeOf(t)
	s.hazard(nil, []byteRange{rg})
	if err := s.timestamp(true); err != nil {
		return err
	}
	C.vks_fill(s.d.fast, unsafe.Pointer(s.cmd), bufferHandle(t.blk.buf), C.uint64_t(rg.lo), C.uint64_t(rg.hi-rg.lo), C.uint32_t(pattern))
	if err := s.timestamp(false); err != nil {
		return err
	}
	s.names = append(s.names, "fill")
	return nil
}

// Copy records copying src into dst; both must hold the same number of bytes.
func (s *Stream) Copy(dst, src *Tensor) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := dst.usable(); err != nil {
		return err
	}
	if err := src.usable(); err != nil {
		return err
	}
	if dst.d != s.d || src.d != s.d {
		return fmt.Errorf("%w: copy between tensors of another device", ErrInvalid)
	}
	if dst.bytes != src.bytes {
		return fmt.Errorf("%w: copy of %v (%d bytes) into %v (%d bytes)", ErrInvalid, src, src.bytes, dst, dst.bytes)
	}
	if err := s.begin(); err != nil {
		return err
	}
	if src.bytes == 0 {
		return nil
	}
	if s.graph != nil {
		s.graph.note(dst, src)
	}
	s.hazard([]byteRange{s.rangeOf(src)}, []byteRange{s.rangeOf(dst)})
	if err := s.timestamp(true); err != nil {
		return err
	}
	C.vks_copy(s.d.fast, unsafe.Pointer(s.cmd), bufferHandle(src.blk.buf), C.uint64_t(src.off), bufferHandle(dst.blk.buf), C.uint64_t(dst.off), C.uint64_t(src.bytes))
	if err := s.timestamp(false); err != nil {
		return err
	}
	s.names = append(s.names, "copy")
	return nil
}

// Submit ends recording and submits the stream; the host does not wait. An empty stream submits nothing.
func (s *Stream) Submit() error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.graph != nil {
		return errRecording
	}
	switch s.state {
	case submitted:
		return fmt.Errorf("%w: the stream was already submitted; Wait first", ErrInvalid)
	case idle:
		return nil
	}
	// Make every result visible to the host (and to later submissions).
	C.vks_barrier(s.d.fast, unsafe.Pointer(s.cmd), stageAny, stageAny|stageHost, accessAnyWrite, accessAnyRead|accessAnyWrite)
	if err := check("vkEndCommandBuffer", vk.EndCommandBuffer(s.cmd)); err != nil {
		s.reset()
		return err
	}
	if err := s.d.submit(s.cmd, s.fence); err != nil {
		s.reset()
		return err
	}
	s.state = submitted
	return nil
}

// Wait waits for a submitted stream to finish, collects its timings, and readies it to record again.
// Waiting on a stream that was not submitted does nothing.
func (s *Stream) Wait() error {
	if err := s.usable(); err != nil {
		return err
	}
	if s.graph != nil {
		return errRecording
	}
	if s.state != submitted {
		return nil
	}
	err := s.d.waitFence(s.fence)
	if err == nil {
		err = s.collectTimings()
	}
	if rerr := s.reset(); err == nil {
		err = rerr
	}
	return err
}

// Run submits the stream and waits for it.
func (s *Stream) Run() error {
	if err := s.Submit(); err != nil {
		return err
	}
	return s.Wait()
}

func (s *Stream) collectTimings() error {
	s.timings = s.timings[:0]
	n := len(s.names)
	if s.query == vk.NullQueryPool || n == 0 {
		return nil
	}
	vals := make([]uint64, 2*n)
	r := vk.GetQueryPoolResults(s.d.dev, s.query, 0, uint32(2*n), uint(8*2*n), unsafe.Pointer(&vals[0]), 8,
		vk.QueryResultFlags(vk.QueryResult64Bit|vk.QueryResultWaitBit))
	if err := check("vkGetQueryPoolResults", r); err != nil {
		return err
	}
	mask := uint64(math.MaxUint64)
	if b := s.d.info.tsBits; b < 64 {
		mask = 1<<b - 1
	}
	period := s.d.info.TimestampPeriod
	t0 := vals[0] & mask
	for i := 0; i < n; i++ {
		a, b := vals[2*i]&mask, vals[2*i+1]&mask
		s.timings = append(s.timings, Timing{
			Name:     s.names[i],
			Start:    time.Duration(float64((a-t0)&mask) * period),
			Duration: time.Duration(float64((b-a)&mask) * period),
		})
	}
	return nil
}

// Timings returns the GPU time of each command of the last completed submission (empty unless the
// stream was made WithTimestamps).
func (s *Stream) Timings() []Timing { return append([]Timing(nil), s.timings...) }

// Elapsed is the GPU time from the start of the first to the end of the last timed command of the
// last completed submission.
func (s *Stream) Elapsed() time.Duration {
	if len(s.timings) == 0 {
		return 0
	}
	last := s.timings[len(s.timings)-1]
	return last.Start + last.Duration
}

// Temp allocates a scratch tensor that lives until the stream's current submission completes:
// Wait (or Close) frees it, so ops can keep intermediates without asking the caller for a workspace.
// Its contents are undefined when it is made. On the stream of a Graph it lives until the Graph is closed.
func (s *Stream) Temp(dt DType, shape ...int) (*Tensor, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.state == submitted {
		return nil, fmt.Errorf("%w: the stream was submitted; Wait before recording again", ErrInvalid)
	}
	if s.state == sealed {
		return nil, errSealed
	}
	t, err := s.d.NewTensor(dt, shape...)
	if err != nil {
		return nil, err
	}
	s.temps = append(s.temps, t)
	return t, nil
}

func (s *Stream) freeTemps() {
	for _, t := range s.temps {
		t.Close()
	}
	s.temps = s.temps[:0]
}

func (s *Stream) reset() error {
	s.freeTemps()
	s.state = idle
	s.written, s.read = s.written[:0], s.read[:0]
	err := check("vkResetCommandPool", vk.ResetCommandPool(s.d.dev, s.pool, 0))
	for _, p := range s.descPools {
		if e := check("vkResetDescriptorPool", vk.ResetDescriptorPool(s.d.dev, p, 0)); err == nil {
			err = e
		}
	}
	s.curPool = 0
	return err
}

// Close waits for the stream if it was submitted and destroys it. It is idempotent.
func (s *Stream) Close() error {
	if s == nil || s.closed {
		return nil
	}
	var err error
	if s.state == submitted && s.d.use() == nil {
		err = s.d.waitFence(s.fence)
		s.state = idle
	}
	s.freeTemps()
	s.d.mu.Lock()
	delete(s.d.streams, s)
	closed := s.d.closed
	s.d.mu.Unlock()
	if !closed {
		s.destroy()
	}
	return err
}

// destroy releases the stream's Vulkan objects (the device must be idle or the stream unsubmitted).
func (s *Stream) destroy() {
	if s.closed {
		return
	}
	s.closed = true
	dev := s.d.dev
	for _, p := range s.descPools {
		vk.DestroyDescriptorPool(dev, p, nil)
	}
	s.descPools = nil
	if s.query != vk.NullQueryPool {
		vk.DestroyQueryPool(dev, s.query, nil)
	}
	if s.fence != vk.NullFence {
		vk.DestroyFence(dev, s.fence, nil)
	}
	if s.pool != vk.NullCommandPool {
		vk.DestroyCommandPool(dev, s.pool, nil)
	}
}

// Push encodes push-constant values little-endian, in order: uint32, int32, float32, float64
// (stored as float32) and int (stored as int32; an int outside the int32 range is stored truncated,
// so callers check ranges). A value of any other type makes Push return nil, which Dispatch
// rejects with an error about the push-constant size.
func Push(values ...any) []byte {
	out := make([]byte, 0, 4*len(values))
	for _, v := range values {
		var w uint32
		switch x := v.(type) {
		case uint32:
			w = x
		case int32:
			w = uint32(x)
		case int:
			w = uint32(int32(x))
		case float32:
			w = math.Float32bits(x)
		case float64:
			w = math.Float32bits(float32(x))
		default:
			return nil
		}
		out = binary.LittleEndian.AppendUint32(out, w)
	}
	return out
}

// Device is the device the stream records for.
func (s *Stream) Device() *Device { return s.d }
