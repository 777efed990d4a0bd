package models

import (
	"context"
	"fmt"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// VocosStream vocodes mel frames that arrive a block at a time (any block size, 1 included) and
// returns the audio as it becomes final: the concatenated output of Push and Flush is the audio of
// Vocos.Decode on all the frames (to float32 rounding).
//
// Latency: every Vocos layer is frame-wise except the 7-tap convolutions (the embedding and one
// depthwise conv per block), so backbone frame t depends on mel frames t−R..t+R with
// R = 3·(NumLayers+1) (LookAhead). An output sample at padded position p needs the iSTFT frames
// ⌊p/hop⌋ and earlier. So after mel frame t has arrived, audio up to sample hop·(t+1−R) − start is
// final (start = n_fft/2 with "center", (n_fft−hop)/2 with "same"): the algorithmic latency is
// R·hop + start samples, 27·256 + 384 = 7296 samples (304 ms) for vocos-mel-24khz's 8 layers.
//
// Each Push recomputes the backbone over the new final frames and R frames of context on each
// side (one GPU submission), then overlap-adds the final samples (another). Not safe for
// concurrent use; the Vocos must outlive it.
type VocosStream struct {
	v       *Vocos
	batch   int
	melBuf  []float32   // frames [melStart, received), [frame][batch][mel]
	frBuf   [][]float32 // per batch row: iFFT frames [frStart, done), [frame][n]
	melLo   int         // absolute index of melBuf's first frame
	frLo    int         // absolute index of frBuf's first frame
	recv    int         // mel frames received
	done    int         // iFFT frames computed (final)
	emitted int         // samples returned per row
	flushed bool
}

// LookAhead is the number of mel frames the backbone looks ahead (and back): 3·(NumLayers+1).
func (c VocosConfig) LookAhead() int { return (vocosKernel / 2) * (c.NumLayers + 1) }

// NewVocosStream starts a stream of batch rows on v.
func NewVocosStream(v *Vocos, batch int) (*VocosStream, error) {
	if v == nil || v.irfft == nil {
		return nil, fmt.Errorf("models: vocos stream: %w", gpu.ErrClosed)
	}
	if batch < 1 {
		return nil, fmt.Errorf("%w: models: vocos stream: batch %d, want ≥ 1", ops.ErrInvalidArgument, batch)
	}
	return &VocosStream{v: v, batch: batch, frBuf: make([][]float32, batch)}, nil
}

// Push adds mel frames [batch, NMels, frames] (row-major; frames ≥ 1) and returns the samples
// that became final, [batch, n] (row-major), and n (possibly 0).
func (st *VocosStream) Push(ctx context.Context, mel []float32, frames int) ([]float32, int, error) {
	c := st.v.Config
	if st.flushed {
		return nil, 0, fmt.Errorf("%w: models: vocos stream: Push after Flush", ops.ErrInvalidArgument)
	}
	if err := c.checkMel(mel, st.batch, frames); err != nil {
		return nil, 0, err
	}
	for t := range frames {
		for b := range st.batch {
			for m := range c.NMels {
				st.melBuf = append(st.melBuf, mel[(b*c.NMels+m)*frames+t])
			}
		}
	}
	st.recv += frames
	return st.advance(ctx, st.recv-c.LookAhead())
}

// Flush ends the stream and returns the remaining samples [batch, n] and n.
func (st *VocosStream) Flush(ctx context.Context) ([]float32, int, error) {
	if st.flushed {
		return nil, 0, nil
	}
	if st.recv == 0 {
		st.flushed = true
		return []float32{}, 0, nil
	}
	y, n, err := st.advance(ctx, st.recv)
	st.flushed = true
	return y, n, err
}

// advance computes the iFFT frames up to target and returns the samples they make final.
func (st *VocosStream) advance(ctx context.Context, target int) ([]float32, int, error) {
	c := st.v.Config
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	R, n, hop, B := c.LookAhead(), c.NFFT, c.HopLength, st.batch
	final := target == st.recv
	if target > st.done {
		lo, hi := max(0, st.done-R), min(st.recv, target+R)
		W := hi - lo
		win := make([]float32, B*c.NMels*W)
		for t := range W {
			row := st.melBuf[(lo+t-st.melLo)*B*c.NMels:]
			for b := range B {
				for m := range c.NMels {
					win[(b*c.NMels+m)*W+t] = row[b*c.NMels+m]
				}
			}
		}
		fr, err := st.backbone(win, W)
		if err != nil {
			return nil, 0, err
		}
		for b := range B {
			st.frBuf[b] = append(st.frBuf[b], fr[(b*W+st.done-lo)*n:(b*W+target-lo)*n]...)
		}
		st.done = target
		// mel frames below done−R are never needed again
		if drop := st.done - R - st.melLo; drop > 0 {
			st.melBuf = st.melBuf[drop*B*c.NMels:]
			st.melLo += drop
		}
	}
	start := vocosStart(c)
	end := st.done*hop - start // samples final so far
	if final {
		end = c.AudioLength(st.recv)
	}
	cnt := end - st.emitted
	if cnt <= 0 {
		return []float32{}, 0, nil
	}
	p0 := start + st.emitted
	flo := 0
	if p0 >= n {
		flo = (p0-n)/hop + 1
	}
	mc := st.done - flo
	y, err := st.overlapAdd(flo, mc, p0, cnt)
	if err != nil {
		return nil, 0, err
	}
	st.emitted = end
	// iFFT frames that cover no later sample are dropped
	next := start + end
	if keep := (next-n)/hop + 1; next >= n && keep > st.frLo {
		for b := range B {
			st.frBuf[b] = st.frBuf[b][(keep-st.frLo)*n:]
		}
		st.frLo = keep
	}
	return y, cnt, nil
}

// backbone runs the model up to the iFFT on a window of mel frames [B, NMels, W].
func (st *VocosStream) backbone(win []float32, W int) ([]float32, error) {
	v := st.v
	mt, err := v.d.FromFloat32(win, st.batch, v.Config.NMels, W)
	if err != nil {
		return nil, err
	}
	defer mt.Close()
	out, err := v.d.NewTensor(gpu.F32, st.batch, W, v.Config.NFFT)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	err = v.run(func(s *gpu.Stream) error {
		fr, err := v.frames(s, mt)
		if err != nil {
			return err
		}
		return s.Copy(out, fr)
	})
	if err != nil {
		return nil, err
	}
	return out.ReadFloat32()
}

// overlapAdd returns the samples at padded positions [p0, p0+cnt) from iFFT frames
// [flo, flo+mc).
func (st *VocosStream) overlapAdd(flo, mc, p0, cnt int) ([]float32, error) {
	v, n, B := st.v, st.v.Config.NFFT, st.batch
	host := make([]float32, 0, B*mc*n)
	for b := range B {
		host = append(host, st.frBuf[b][(flo-st.frLo)*n:(flo-st.frLo+mc)*n]...)
	}
	ft, err := v.d.FromFloat32(host, B, mc, n)
	if err != nil {
		return nil, err
	}
	defer ft.Close()
	yt, err := v.d.NewTensor(gpu.F32, B, cnt)
	if err != nil {
		return nil, err
	}
	defer yt.Close()
	err = v.run(func(s *gpu.Stream) error {
		return ops.OverlapAdd(s, yt, ft, v.window, cnt, v.window64, ops.OverlapAddOptions{Hop: v.Config.HopLength, Frames: st.done, FirstFrame: flo, Start: p0})
	})
	if err != nil {
		return nil, err
	}
	return yt.ReadFloat32()
}
