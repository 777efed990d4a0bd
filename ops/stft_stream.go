package ops

import (
	"github.com/vkseq/vkseq/gpu"
)

// streamTensors keeps a stream's device tensors, reallocated only when a call needs more.
type streamTensors struct {
	d      *gpu.Device
	in     *gpu.Tensor
	out    *gpu.Tensor
	s      *gpu.Stream
	inLen  int
	outLen int
}

// get returns an input tensor viewed as inShape and an output viewed as outShape.
func (st *streamTensors) get(inShape, outShape []int) (*gpu.Tensor, *gpu.Tensor, error) {
	n, m := 1, 1
	for _, v := range inShape {
		n *= v
	}
	for _, v := range outShape {
		m *= v
	}
	if st.in == nil || st.inLen < n {
		if st.in != nil {
			st.in.Close()
		}
		t, err := st.d.NewTensor(gpu.F32, max(n, 2*st.inLen))
		if err != nil {
			return nil, nil, err
		}
		st.in, st.inLen = t, t.Len()
	}
	if st.out == nil || st.outLen < m {
		if st.out != nil {
			st.out.Close()
		}
		t, err := st.d.NewTensor(gpu.F32, max(m, 2*st.outLen))
		if err != nil {
			return nil, nil, err
		}
		st.out, st.outLen = t, t.Len()
	}
	if st.s == nil {
		s, err := st.d.NewStream()
		if err != nil {
			return nil, nil, err
		}
		st.s = s
	}
	iw, err := st.in.Window(0, n)
	if err != nil {
		return nil, nil, err
	}
	ow, err := st.out.Window(0, m)
	if err != nil {
		return nil, nil, err
	}
	iv, err := iw.Reshape(inShape...)
	if err != nil {
		return nil, nil, err
	}
	ov, err := ow.Reshape(outShape...)
	return iv, ov, err
}

func (st *streamTensors) close() {
	if st.s != nil {
		st.s.Close()
	}
	if st.in != nil {
		st.in.Close()
	}
	if st.out != nil {
		st.out.Close()
	}
	*st = streamTensors{d: st.d}
}

// STFTStream computes the STFT of a signal that arrives in blocks of any size, for real-time
// use: the frames it returns, concatenated along the frame axis, are exactly the frames of
// STFTPlan.Forward on the whole signal with the same options. A frame is returned as soon as the
// samples it covers are known; the frames that need the right-hand padding come from Flush.
// Each call runs one GPU submission and waits for it. An STFTStream is not safe for concurrent
// use.
type STFTStream struct {
	p      stftParams
	plan   *STFTPlan // the options without centring: frames of host-padded segments
	batch  int
	rows   [][]float32 // per row: padded samples from padded position base on
	base   int         // padded position of rows[b][0]
	got    int         // signal samples received per row
	head   [][]float32 // per row: the first NFFT/2+1 samples (reflect padding)
	next   int         // next frame to return
	done   bool
	ts     streamTensors
	closed bool
}

// NewSTFTStream starts a streaming STFT of batch signals with options opt (as NewSTFTPlan).
func NewSTFTStream(d *gpu.Device, opt STFTOptions, batch int) (*STFTStream, error) {
	const op = "stft_stream"
	if d == nil {
		return nil, shapeErr(op, "device is nil")
	}
	p, err := resolveSTFT(op, opt)
	if err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, shapeErr(op, "batch = %d, want >= 1", batch)
	}
	o := opt
	o.Center, o.PadMode, o.Length = false, "", 0
	plan, err := NewSTFTPlan(d, o)
	if err != nil {
		return nil, err
	}
	st := &STFTStream{p: p, plan: plan, batch: batch, rows: make([][]float32, batch), head: make([][]float32, batch), ts: streamTensors{d: d}}
	if p.center && !p.reflect {
		for b := range st.rows {
			st.rows[b] = make([]float32, p.pad())
		}
	}
	return st, nil
}

// Freqs is the number of frequency bins F of each frame.
func (st *STFTStream) Freqs() int { return st.p.freqs }

// Push appends a block of samples, x [batch, n] row-major (n = len(x)/batch, any n >= 0), and
// returns the frames that became complete, spec [batch, F, frames, 2] row-major (re, im), and
// their count.
func (st *STFTStream) Push(x []float32) (spec []float32, frames int, err error) {
	const op = "stft_stream"
	if st.closed || st.done {
		return nil, 0, shapeErr(op, "stream is closed or flushed")
	}
	if len(x)%st.batch != 0 {
		return nil, 0, shapeErr(op, "block has %d samples, want a multiple of batch = %d ([batch, n])", len(x), st.batch)
	}
	n := len(x) / st.batch
	pad := st.p.pad()
	for b := 0; b < st.batch; b++ {
		blk := x[b*n : (b+1)*n]
		if st.p.center && st.p.reflect && len(st.head[b]) < pad+1 {
			st.head[b] = append(st.head[b], blk[:min(len(blk), pad+1-len(st.head[b]))]...)
		}
		st.rows[b] = append(st.rows[b], blk...)
	}
	before := st.got
	st.got += n
	if st.p.center && st.p.reflect && pad > 0 && before < pad+1 && st.got >= pad+1 {
		// the left padding is known now: x[pad], ..., x[1] before the signal
		for b := range st.rows {
			left := make([]float32, pad, pad+len(st.rows[b]))
			for i := 0; i < pad; i++ {
				left[i] = st.head[b][pad-i]
			}
			st.rows[b] = append(left, st.rows[b]...)
		}
	}
	if st.p.center && st.p.reflect && pad > 0 && st.got < pad+1 {
		return nil, 0, nil
	}
	return st.emit(op)
}

// Flush ends the signal: it returns the last frames (those reaching into the right-hand
// padding). The error names pad_mode when reflect padding needs more samples than the signal
// had, or n_fft when the signal is shorter than one frame (as STFTPlan.Shape).
func (st *STFTStream) Flush() (spec []float32, frames int, err error) {
	const op = "stft_stream"
	if st.closed || st.done {
		return nil, 0, shapeErr(op, "stream is closed or flushed")
	}
	st.done = true
	total, err := st.p.frames(op, st.got)
	if err != nil {
		return nil, 0, err
	}
	pad := st.p.pad()
	if st.p.center {
		for b := range st.rows {
			r := st.rows[b]
			l := len(r) // r[l-1] is x[L-1]; emit keeps at least NFFT/2+1 samples
			for i := 1; i <= pad; i++ {
				v := float32(0)
				if st.p.reflect {
					v = r[l-1-i] // x[L-1-i]
				}
				r = append(r, v)
			}
			st.rows[b] = r
		}
	}
	spec, frames, err = st.emit(op)
	if err == nil && st.next != total {
		err = shapeErr(op, "internal: %d frames returned, want %d", st.next, total)
	}
	return spec, frames, err
}

// emit computes the frames whose samples are all in rows.
func (st *STFTStream) emit(op string) ([]float32, int, error) {
	n, hop := st.p.nfft, st.p.hop
	avail := st.base + len(st.rows[0])
	k := 0
	if avail >= st.next*hop+n {
		k = (avail-st.next*hop-n)/hop + 1
	}
	if k == 0 {
		return nil, 0, nil
	}
	off := st.next*hop - st.base
	segLen := (k-1)*hop + n
	f := st.p.freqs
	xt, out, err := st.ts.get([]int{st.batch, segLen}, []int{st.batch, f, k, 2})
	if err != nil {
		return nil, 0, err
	}
	seg := make([]float32, st.batch*segLen)
	for b := range st.rows {
		copy(seg[b*segLen:(b+1)*segLen], st.rows[b][off:off+segLen])
	}
	if err := xt.WriteFloat32(seg); err != nil {
		return nil, 0, err
	}
	if err := st.plan.Forward(st.ts.s, out, xt); err != nil {
		return nil, 0, err
	}
	if err := st.ts.s.Run(); err != nil {
		return nil, 0, err
	}
	spec, err := out.ReadFloat32()
	if err != nil {
		return nil, 0, err
	}
	st.next += k
	// drop samples no later frame needs
	drop := st.next*hop - st.base
	if !st.done && st.p.center && st.p.reflect {
		drop = min(drop, len(st.rows[0])-st.p.pad()-1) // Flush reflects the last samples
	}
	if drop > 0 {
		drop = min(drop, len(st.rows[0]))
		for b := range st.rows {
			st.rows[b] = append(st.rows[b][:0], st.rows[b][drop:]...)
		}
		st.base += drop
	}
	return spec, k, nil
}

// Close frees the stream's device resources. It is idempotent.
func (st *STFTStream) Close() error {
	if st == nil || st.closed {
		return nil
	}
	st.closed = true
	st.ts.close()
	return st.plan.Close()
}

// ISTFTStream computes the iSTFT of a spectrogram that arrives a few frames at a time: the
// samples it returns, concatenated, are those of STFTPlan.Inverse on all the frames with the
// same options (Length included). A sample is returned once every frame that covers it has
// arrived (and, with Center, once it is known not to be in the trimmed tail); Flush returns the
// rest. Each call runs one GPU submission and waits for it. Not safe for concurrent use.
type ISTFTStream struct {
	p       stftParams
	plan    *STFTPlan
	batch   int
	length  int       // torch's length; 0: not given
	keep    int       // frames retained: floor((NFFT−1)/hop)
	old     []float32 // retained spectrum frames [batch, F, nold, 2]
	nold    int
	frames  int // frames received
	emitted int // padded position of the next sample to return
	start   int // padded position of output sample 0
	done    bool
	ts      streamTensors
	closed  bool
}

// NewISTFTStream starts a streaming iSTFT of batch spectrograms with options opt (opt.Length is
// torch's length: the total output is cut or zero-padded to it).
func NewISTFTStream(d *gpu.Device, opt STFTOptions, batch int) (*ISTFTStream, error) {
	const op = "istft_stream"
	if d == nil {
		return nil, shapeErr(op, "device is nil")
	}
	if batch < 1 {
		return nil, shapeErr(op, "batch = %d, want >= 1", batch)
	}
	plan, err := NewSTFTPlan(d, opt)
	if err != nil {
		return nil, err
	}
	p := plan.p
	if err := p.sp.CheckISTFT(); err != nil {
		plan.Close()
		return nil, shapeErr(op, "%v", err)
	}
	st := &ISTFTStream{p: p, plan: plan, batch: batch, length: opt.Length, keep: (p.nfft - 1) / p.hop, ts: streamTensors{d: d}}
	st.start = p.pad()
	st.emitted = st.start
	return st, nil
}

// Freqs is the number of frequency bins F each pushed frame must have.
func (st *ISTFTStream) Freqs() int { return st.p.freqs }

// Push appends frames of the spectrogram, spec [batch, F, frames, 2] row-major (frames =
// len(spec)/(batch·F·2), any count >= 0), and returns the output samples that became final,
// y [batch, n] row-major, and n. The error names NOLA when the window envelope of a returned
// sample is below 1e-11.
func (st *ISTFTStream) Push(spec []float32) (y []float32, n int, err error) {
	const op = "istft_stream"
	if st.closed || st.done {
		return nil, 0, shapeErr(op, "stream is closed or flushed")
	}
	f := st.p.freqs
	if len(spec)%(st.batch*f*2) != 0 {
		return nil, 0, shapeErr(op, "spec has %d values, want [batch, F, frames, 2] with batch = %d, F = %d", len(spec), st.batch, f)
	}
	k := len(spec) / (st.batch * f * 2)
	if k == 0 {
		return nil, 0, nil
	}
	// segment: retained frames then the new ones, per row and bin
	s := st.nold + k
	seg := make([]float32, st.batch*f*s*2)
	for b := 0; b < st.batch; b++ {
		for q := 0; q < f; q++ {
			dst := seg[((b*f+q)*s)*2:]
			copy(dst, st.old[((b*f+q)*st.nold)*2:((b*f+q)*st.nold+st.nold)*2])
			copy(dst[st.nold*2:], spec[((b*f+q)*k)*2:((b*f+q)*k+k)*2])
		}
	}
	m0 := st.frames - st.nold
	st.frames += k
	end := st.frames * st.p.hop // every frame covering an earlier sample has arrived
	if st.p.center {
		end = min(end, st.p.pad()+st.p.hop*(st.frames-1)) // not in the trimmed tail
	}
	if st.length > 0 {
		end = min(end, st.start+st.length)
	}
	y, n, err = st.run(op, seg, s, m0, end)
	if err != nil {
		return nil, 0, err
	}
	// retain the last frames
	keep := min(st.keep, s)
	st.old = make([]float32, st.batch*f*keep*2)
	for b := 0; b < st.batch; b++ {
		for q := 0; q < f; q++ {
			copy(st.old[((b*f+q)*keep)*2:((b*f+q)*keep+keep)*2], seg[((b*f+q)*s+s-keep)*2:((b*f+q)*s+s)*2])
		}
	}
	st.nold = keep
	return y, n, nil
}

// Flush ends the spectrogram and returns the remaining samples.
func (st *ISTFTStream) Flush() (y []float32, n int, err error) {
	const op = "istft_stream"
	if st.closed || st.done {
		return nil, 0, shapeErr(op, "stream is closed or flushed")
	}
	st.done = true
	if st.frames == 0 {
		return nil, 0, shapeErr(op, "no frames were pushed; want >= 1")
	}
	end := st.start + st.plan.ISTFTLength(st.frames)
	return st.run(op, st.old, st.nold, st.frames-st.nold, end)
}

// run returns samples [emitted, end) (padded positions) from the segment of s frames starting at
// frame m0.
func (st *ISTFTStream) run(op string, seg []float32, s, m0, end int) ([]float32, int, error) {
	cnt := end - st.emitted
	if cnt <= 0 {
		return nil, 0, nil
	}
	p0 := st.emitted - m0*st.p.hop
	f := st.p.freqs
	if s == 0 {
		// nothing covers these samples (past the end): zeros
		st.emitted = end
		return make([]float32, st.batch*cnt), cnt, nil
	}
	if err := st.plan.checkNOLA(op, s, p0, cnt); err != nil {
		return nil, 0, err
	}
	specT, yT, err := st.ts.get([]int{st.batch, f, s, 2}, []int{st.batch, cnt})
	if err != nil {
		return nil, 0, err
	}
	if err := specT.WriteFloat32(seg); err != nil {
		return nil, 0, err
	}
	if err := st.plan.inverse(st.ts.s, yT, specT, st.batch, f, s, 2*f*s, 0, p0, cnt, cnt); err != nil {
		return nil, 0, err
	}
	if err := st.ts.s.Run(); err != nil {
		return nil, 0, err
	}
	y, err := yT.ReadFloat32()
	if err != nil {
		return nil, 0, err
	}
	st.emitted = end
	return y, cnt, nil
}

// Close frees the stream's device resources. It is idempotent.
func (st *ISTFTStream) Close() error {
	if st == nil || st.closed {
		return nil
	}
	st.closed = true
	st.ts.close()
	return st.plan.Close()
}
