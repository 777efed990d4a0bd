package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/x448/float16"
)

// DType is the element type of a Tensor.
type DType int

// Element types.
const (
	F32 DType = iota // float32
	F16              // IEEE float16 (needs Float16Storage on the device for shaders to read it)
	I32              // int32
)

// Size is the element size in bytes.
func (t DType) Size() int {
	if t == F16 {
		return 2
	}
	return 4
}

// String is the short name: f32, f16 or i32.
func (t DType) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case I32:
		return "i32"
	}
	return fmt.Sprintf("DType(%d)", int(t))
}

// Tensor is a typed, contiguous, row-major array in device memory: a range of one of the device's
// memory blocks. Reads and writes from the host are synchronous; they must not overlap a Stream
// that uses the tensor (Wait for it first). Close returns the memory to the device's pool.
type Tensor struct {
	d      *Device
	mem    *allocator // the pool blk belongs to (the device's, or its host-visible one)
	blk    *block
	off    uint64 // byte offset in blk
	bytes  uint64 // n * element size
	dtype  DType
	shape  []int
	n      int
	owner  bool    // false for a view made by Window or Reshape
	base   *Tensor // the owner a view was made from (nil for an owner)
	mu     sync.Mutex
	closed bool
}

func elementCount(shape []int) (int, error) {
	n := 1
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("%w: negative dimension in shape %v", ErrInvalid, shape)
		}
		if s > 0 && n > math.MaxInt/s {
			return 0, fmt.Errorf("%w: shape %v has more elements than an int holds", ErrInvalid, shape)
		}
		n *= s
	}
	return n, nil
}

// NewTensor allocates an uninitialised tensor of the given element type and shape
// (a shape with no dimensions is a scalar; a zero dimension is legal and gives an empty tensor).
func (d *Device) NewTensor(dt DType, shape ...int) (*Tensor, error) {
	n, err := d.checkNew(dt, shape)
	if err != nil {
		return nil, err
	}
	bytes := uint64(n) * uint64(dt.Size())
	blk, off, err := d.mem.alloc(bytes)
	if err != nil {
		return nil, fmt.Errorf("tensor %v %v: %w", dt, shape, err)
	}
	return &Tensor{d: d, mem: d.mem, blk: blk, off: off, bytes: bytes, dtype: dt, shape: append([]int(nil), shape...), n: n, owner: true}, nil
}

// NewHostTensor allocates an uninitialised tensor in memory the host maps (host-visible and
// coherent), so that its reads and writes are plain memory copies, with no transfer submission
// and no allocation: for the few values that change between replays of a Graph (a step counter)
// and for reading back a replay's small results (sampled ids). Shaders bind it like any tensor,
// but device access to it may be slower (on a discrete GPU it is host memory read over the bus),
// so keep it small. On a device whose tensors are host-visible anyway it is an ordinary tensor.
func (d *Device) NewHostTensor(dt DType, shape ...int) (*Tensor, error) {
	n, err := d.checkNew(dt, shape)
	if err != nil {
		return nil, err
	}
	a, err := d.hostAllocator()
	if err != nil {
		return nil, err
	}
	bytes := uint64(n) * uint64(dt.Size())
	blk, off, err := a.alloc(bytes)
	if err != nil {
		return nil, fmt.Errorf("host tensor %v %v: %w", dt, shape, err)
	}
	return &Tensor{d: d, mem: a, blk: blk, off: off, bytes: bytes, dtype: dt, shape: append([]int(nil), shape...), n: n, owner: true}, nil
}

// FromFloat32, FromFloat16 and FromInt32 allocate a tensor of the given shape and upload data,
// whose length must equal the shape's element count (errors wrap ErrInvalid). The tensor's dtype
// is the one the name says: F32, F16 (data rounded to float16) and I32.

// FromFloat32 allocates an F32 tensor of the given shape holding data.
func (d *Device) FromFloat32(data []float32, shape ...int) (*Tensor, error) {
	return fromData(d, F32, shape, func(t *Tensor) error { return t.WriteFloat32(data) })
}

// FromFloat16 allocates an F16 tensor of the given shape holding data rounded to float16.
func (d *Device) FromFloat16(data []float32, shape ...int) (*Tensor, error) {
	return fromData(d, F16, shape, func(t *Tensor) error { return t.WriteFloat32(data) })
}

// FromFloats allocates a tensor of float dtype dt (F32, or F16 with data rounded to float16) of
// the given shape holding data: for code that chooses the storage type at run time (model
// loaders). Other dtypes are an error wrapping ErrInvalid.
func (d *Device) FromFloats(dt DType, data []float32, shape ...int) (*Tensor, error) {
	switch dt {
	case F32:
		return d.FromFloat32(data, shape...)
	case F16:
		return d.FromFloat16(data, shape...)
	}
	return nil, fmt.Errorf("%w: FromFloats takes F32 or F16, not %v", ErrInvalid, dt)
}

// FromInt32 allocates an I32 tensor of the given shape holding data.
func (d *Device) FromInt32(data []int32, shape ...int) (*Tensor, error) {
	return fromData(d, I32, shape, func(t *Tensor) error { return t.WriteInt32(data) })
}

// fromData allocates a tensor and fills it with write; the tensor is freed if write fails.
func fromData(d *Device, dt DType, shape []int, write func(*Tensor) error) (*Tensor, error) {
	t, err := d.NewTensor(dt, shape...)
	if err != nil {
		return nil, err
	}
	if err := write(t); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// DType is the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return append([]int(nil), t.shape...) }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.n }

// Bytes is the size of the data in bytes.
func (t *Tensor) Bytes() uint64 { return t.bytes }

// Device is the device the tensor lives on.
func (t *Tensor) Device() *Device { return t.d }

// String describes the tensor by dtype and shape.
func (t *Tensor) String() string { return fmt.Sprintf("Tensor(%v %v)", t.dtype, t.shape) }

func (t *Tensor) usable() error {
	if t == nil {
		return fmt.Errorf("%w: nil tensor", ErrInvalid)
	}
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: %v", ErrClosed, t)
	}
	return t.d.use()
}

// writeBytes copies raw bytes into the tensor.
func (t *Tensor) writeBytes(src []byte) error {
	if err := t.d.notRecording("write"); err != nil {
		return err
	}
	if len(src) == 0 {
		return nil
	}
	if t.blk.mapped != nil {
		copy(unsafe.Slice((*byte)(unsafe.Add(t.blk.mapped, t.off)), len(src)), src)
		return nil
	}
	return t.d.mem.transfer(t.blk, t.off, unsafe.Pointer(&src[0]), uint64(len(src)), true)
}

// readBytes copies the tensor's bytes out.
func (t *Tensor) readBytes() ([]byte, error) {
	if err := t.d.notRecording("read"); err != nil {
		return nil, err
	}
	dst := make([]byte, t.bytes)
	if len(dst) == 0 {
		return dst, nil
	}
	if t.blk.mapped != nil {
		copy(dst, unsafe.Slice((*byte)(unsafe.Add(t.blk.mapped, t.off)), len(dst)))
		return dst, nil
	}
	if err := t.d.mem.transfer(t.blk, t.off, unsafe.Pointer(&dst[0]), uint64(len(dst)), false); err != nil {
		return nil, err
	}
	return dst, nil
}

// WriteFloat32 uploads data into an F32 or F16 tensor (converting to float16, round to nearest even).
// len(data) must equal Len().
func (t *Tensor) WriteFloat32(data []float32) error {
	if err := t.usable(); err != nil {
		return err
	}
	if len(data) != t.n {
		return fmt.Errorf("%w: writing %d values into %v of %d elements", ErrInvalid, len(data), t, t.n)
	}
	switch t.dtype {
	case F32:
		if len(data) == 0 {
			return nil
		}
		return t.writeBytes(unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data)))
	case F16:
		buf := make([]byte, 2*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint16(buf[2*i:], float16.Fromfloat32(v).Bits())
		}
		return t.writeBytes(buf)
	}
	return fmt.Errorf("%w: WriteFloat32 into %v: use WriteInt32", ErrInvalid, t)
}

// ReadFloat32 downloads an F32 or F16 tensor as float32.
func (t *Tensor) ReadFloat32() ([]float32, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if t.dtype == I32 {
		return nil, fmt.Errorf("%w: ReadFloat32 from %v: use ReadInt32", ErrInvalid, t)
	}
	raw, err := t.readBytes()
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.n)
	if t.dtype == F16 {
		for i := range out {
			out[i] = float16.Frombits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
		return out, nil
	}
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// WriteInt32 uploads data into an I32 tensor; len(data) must equal Len().
func (t *Tensor) WriteInt32(data []int32) error {
	if err := t.usable(); err != nil {
		return err
	}
	if t.dtype != I32 {
		return fmt.Errorf("%w: WriteInt32 into %v", ErrInvalid, t)
	}
	if len(data) != t.n {
		return fmt.Errorf("%w: writing %d values into %v of %d elements", ErrInvalid, len(data), t, t.n)
	}
	if len(data) == 0 {
		return nil
	}
	return t.writeBytes(unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data)))
}

// ReadInt32Into downloads an I32 tensor into dst (len(dst) must equal Len()). It allocates no Go
// memory when the tensor is host-visible (NewHostTensor, or a device whose tensors all are).
func (t *Tensor) ReadInt32Into(dst []int32) error {
	if err := t.usable(); err != nil {
		return err
	}
	if t.dtype != I32 {
		return fmt.Errorf("%w: ReadInt32Into from %v", ErrInvalid, t)
	}
	if len(dst) != t.n {
		return fmt.Errorf("%w: reading %v of %d elements into %d values", ErrInvalid, t, t.n, len(dst))
	}
	if err := t.d.notRecording("read"); err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	p := unsafe.Pointer(&dst[0])
	if t.blk.mapped != nil {
		copy(unsafe.Slice((*byte)(p), t.bytes), unsafe.Slice((*byte)(unsafe.Add(t.blk.mapped, t.off)), t.bytes))
		return nil
	}
	return t.d.mem.transfer(t.blk, t.off, p, t.bytes, false)
}

// ReadInt32 downloads an I32 tensor.
func (t *Tensor) ReadInt32() ([]int32, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if t.dtype != I32 {
		return nil, fmt.Errorf("%w: ReadInt32 from %v", ErrInvalid, t)
	}
	raw, err := t.readBytes()
	if err != nil {
		return nil, err
	}
	out := make([]int32, t.n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// Fill sets every element to v (converted to float16 for F16; for I32, v is converted with int32(v)).
// Fill(float32(math.NaN())) poisons an output so that an element no shader writes fails a test.
func (t *Tensor) Fill(v float32) error {
	if err := t.usable(); err != nil {
		return err
	}
	buf := make([]byte, t.bytes)
	switch t.dtype {
	case F32:
		for i := 0; i < t.n; i++ {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
	case F16:
		h := float16.Fromfloat32(v).Bits()
		for i := 0; i < t.n; i++ {
			binary.LittleEndian.PutUint16(buf[2*i:], h)
		}
	case I32:
		for i := 0; i < t.n; i++ {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(int32(v)))
		}
	}
	return t.writeBytes(buf)
}

// Reshape returns a view of the same memory with another shape of the same element count.
// Closing the view does not free the memory; the view must not outlive t.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	n, err := elementCount(shape)
	if err != nil {
		return nil, err
	}
	if n != t.n {
		return nil, fmt.Errorf("%w: reshape of %v (%d elements) to %v (%d elements)", ErrInvalid, t, t.n, shape, n)
	}
	return &Tensor{d: t.d, mem: t.mem, blk: t.blk, off: t.off, bytes: t.bytes, dtype: t.dtype, shape: append([]int(nil), shape...), n: n, base: t.owning()}, nil
}

// Window returns a 1-D view of n elements starting at element start, for binding part of a tensor
// larger than the device's MaxStorageBufferRange. The start must keep the view's byte offset a
// multiple of the device's StorageAlignment. The view must not outlive t.
func (t *Tensor) Window(start, n int) (*Tensor, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if start < 0 || n < 0 || start+n > t.n {
		return nil, fmt.Errorf("%w: window [%d, %d) of %v with %d elements", ErrInvalid, start, start+n, t, t.n)
	}
	off := t.off + uint64(start)*uint64(t.dtype.Size())
	if off%t.d.info.StorageAlignment != 0 {
		return nil, fmt.Errorf("%w: window at element %d of %v is not aligned to %d bytes", ErrInvalid, start, t, t.d.info.StorageAlignment)
	}
	return &Tensor{d: t.d, mem: t.mem, blk: t.blk, off: off, bytes: uint64(n) * uint64(t.dtype.Size()), dtype: t.dtype, shape: []int{n}, n: n, base: t.owning()}, nil
}

// TexelBindable reports whether t can be bound to a Texel binding (see Texel): its byte offset
// in its buffer is a multiple of the device's TexelAlignment, it is not empty, and its texels
// (its size rounded up to 16 bytes) lie within its buffer and number at most MaxTexelElements.
func (t *Tensor) TexelBindable() bool { return t.texelProblem() == "" }

// texelSize is t's size rounded up to whole 16-byte texels.
func (t *Tensor) texelSize() uint64 { return alignUp(t.bytes, 16) }

// texelProblem says why t cannot be bound to a Texel binding, or "" when it can.
func (t *Tensor) texelProblem() string {
	info := &t.d.info
	switch {
	case info.TexelAlignment == 0 || t.off%info.TexelAlignment != 0:
		return fmt.Sprintf("%v starts at byte %d of its buffer, not a multiple of the texel-buffer alignment %d", t, t.off, info.TexelAlignment)
	case t.bytes == 0:
		return fmt.Sprintf("%v is empty", t)
	case t.off+t.texelSize() > t.blk.size:
		return fmt.Sprintf("%v: its last 16-byte texel would end past its buffer", t)
	case t.texelSize()/16 > info.MaxTexelElements:
		return fmt.Sprintf("%v is %d texels, more than the device's texel buffers hold (%d); split it with Window", t, t.texelSize()/16, info.MaxTexelElements)
	}
	return ""
}

// Close returns the tensor's memory to the device's pool. It is idempotent; closing a view only
// marks the view closed. After the device is closed, Close does nothing.
func (t *Tensor) Close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	if !t.owner || t.d.use() != nil {
		return nil
	}
	t.mem.release(t.blk, t.off, t.bytes)
	return nil
}

// owning returns the tensor that owns t's memory (t itself, or the owner of the view t).
func (t *Tensor) owning() *Tensor {
	if t.base != nil {
		return t.base
	}
	return t
}

// alive reports whether the memory of t is still held: the owner of t (t itself, or the tensor
// the view t was made from) is open. Closing a view frees nothing, so it does not count. No allocation.
func (t *Tensor) alive() bool {
	o := t.owning()
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	return !closed
}

func f16bits(v float32) uint16 { return float16.Fromfloat32(v).Bits() }

// checkNew checks the device is usable and the dtype and shape of a new tensor, and returns
// its element count.
func (d *Device) checkNew(dt DType, shape []int) (int, error) {
	if err := d.use(); err != nil {
		return 0, err
	}
	if dt != F32 && dt != F16 && dt != I32 {
		return 0, fmt.Errorf("%w: unknown dtype %v", ErrInvalid, dt)
	}
	return elementCount(shape)
}
