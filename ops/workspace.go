package ops

import (
	"fmt"

	"github.com/vkseq/vkseq/gpu"
)

// Workspace holds the scratch buffers of the chunked ops (GLA, SSD) across calls, so that repeated
// calls allocate nothing (without one, GLA takes stream temporaries). It grows as needed and can
// be reused by any number of calls of any of these ops, on one stream or several, as long as the
// streams that use it run one after the other (a stream orders reuse within itself). Buffers it
// outgrows are kept until Close, since commands already recorded may still use them. It is not
// safe for concurrent use.
type Workspace struct {
	d       *gpu.Device
	bufs    map[string]*gpu.Tensor
	retired []*gpu.Tensor
	// segBytes caps each op's segment scratch; 0 means the op's default. Tests lower it to force
	// the chunks to be processed in several segments.
	segBytes uint64
}

// NewWorkspace makes an empty workspace on d.
func NewWorkspace(d *gpu.Device) *Workspace {
	return &Workspace{d: d, bufs: map[string]*gpu.Tensor{}}
}

// Close frees the workspace's buffers. Call it after the streams that used it completed.
func (w *Workspace) Close() error {
	for _, t := range w.bufs {
		t.Close()
	}
	for _, t := range w.retired {
		t.Close()
	}
	w.bufs, w.retired = map[string]*gpu.Tensor{}, nil
	return nil
}

// buf returns the scratch buffer name with room for n elements of dt (1-D).
func (w *Workspace) buf(name string, dt gpu.DType, n int) (*gpu.Tensor, error) {
	n = max(n, 4)
	if t, ok := w.bufs[name]; ok && t.DType() == dt && t.Len() >= n {
		return t, nil
	}
	if old, ok := w.bufs[name]; ok {
		w.retired = append(w.retired, old)
		delete(w.bufs, name)
	}
	t, err := w.d.NewTensor(dt, n)
	if err != nil {
		return nil, fmt.Errorf("workspace %s (%d elements): %w", name, n, err)
	}
	w.bufs[name] = t
	return t, nil
}

// scratch returns the buffer name from w, or, when w is nil, a temporary of stream s (freed when
// the stream's submission completes).
func (w *Workspace) scratch(s *gpu.Stream, name string, dt gpu.DType, n int) (*gpu.Tensor, error) {
	if w != nil {
		return w.buf(name, dt, n)
	}
	return s.Temp(dt, max(n, 4))
}
