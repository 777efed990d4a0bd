package gpu_test

import (
	"errors"
	"math"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestGraph records a kernel reading a host tensor and a copy into another host tensor once, then
// replays it with new host values each time: each replay sees the values written before it, and
// a replay (write, submit, wait, read back) allocates no Go memory.
func TestGraph(t *testing.T) {
	for _, staging := range []bool{false, true} {
		name := "mapped"
		var opts []gpu.Option
		if staging {
			name = "staging"
			opts = append(opts, gpu.WithStaging())
		}
		t.Run(name, func(t *testing.T) {
			d := openDevice(t, opts...)
			k := copyKernel(t, d)
			const n = 8
			in, err := d.NewHostTensor(gpu.F32, n)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			mid, err := d.NewTensor(gpu.F32, n)
			if err != nil {
				t.Fatal(err)
			}
			defer mid.Close()
			out, err := d.NewHostTensor(gpu.I32, n)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			g, err := d.Record(func(s *gpu.Stream) error {
				if err := s.Dispatch(k, [3]uint32{1, 1, 1}, gpu.Push(uint32(n/4)), in, mid); err != nil {
					return err
				}
				return s.Copy(out, mid)
			})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if g.Tensors() != 3 {
				t.Errorf("graph binds %d tensors, want 3", g.Tensors())
			}
			src := make([]float32, n)
			got := make([]int32, n)
			step := 0
			replay := func() {
				for i := range src {
					src[i] = float32(step*100 + i)
				}
				step++
				if err := in.WriteFloat32(src); err != nil {
					t.Fatal(err)
				}
				if err := g.Run(); err != nil {
					t.Fatal(err)
				}
				if err := out.ReadInt32Into(got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if uint32(got[i]) != math.Float32bits(src[i]) {
						t.Fatalf("replay %d element %d: got %v want %v", step, i, math.Float32frombits(uint32(got[i])), src[i])
					}
				}
			}
			for range 3 {
				replay()
			}
			if a := testing.AllocsPerRun(20, replay); a != 0 {
				t.Errorf("%v allocations per replay, want 0", a)
			}
			// A second submit before Wait is refused; the first one still completes.
			if err := g.Submit(); err != nil {
				t.Fatal(err)
			}
			if err := g.Submit(); !errors.Is(err, gpu.ErrInvalid) {
				t.Errorf("second submit: %v, want ErrInvalid", err)
			}
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			// Closing a view of a bound tensor frees nothing: the graph still runs. Closing the
			// tensor makes it stale.
			v, err := mid.Reshape(2, n/2)
			if err != nil {
				t.Fatal(err)
			}
			vg, err := d.Record(func(s *gpu.Stream) error { return s.Fill(v, 1) })
			if err != nil {
				t.Fatal(err)
			}
			defer vg.Close()
			v.Close()
			if err := vg.Run(); err != nil {
				t.Errorf("replay after closing a view it binds: %v", err)
			}
			mid.Close()
			if err := vg.Run(); !errors.Is(err, gpu.ErrStale) {
				t.Errorf("replay after closing the tensor of a view it binds: %v, want ErrStale", err)
			}
			if err := g.Run(); !errors.Is(err, gpu.ErrStale) {
				t.Errorf("replay after closing a bound tensor: %v, want ErrStale", err)
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
			if err := g.Run(); !errors.Is(err, gpu.ErrClosed) {
				t.Errorf("replay after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestGraphRefuses checks that a recording cannot submit, wait or move tensor data from the host,
// and that its stream records nothing after the recording.
func TestGraphRefuses(t *testing.T) {
	d := openDevice(t)
	x, err := d.NewTensor(gpu.F32, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for name, fn := range map[string]func(s *gpu.Stream) error{
		"run":   func(s *gpu.Stream) error { return errors.Join(s.Fill(x, 1), s.Run()) },
		"wait":  func(s *gpu.Stream) error { return s.Wait() },
		"read":  func(s *gpu.Stream) error { _, err := x.ReadFloat32(); return err },
		"write": func(s *gpu.Stream) error { return x.WriteFloat32(make([]float32, 4)) },
		"fill":  func(s *gpu.Stream) error { return x.Fill(0) },
	} {
		g, err := d.Record(fn)
		if !errors.Is(err, gpu.ErrInvalid) || g != nil {
			t.Errorf("%s inside a recording: %v, want ErrInvalid and no graph", name, err)
		}
	}
	// After a recording, host transfers work again.
	if err := x.Fill(2); err != nil {
		t.Fatal(err)
	}
	var kept *gpu.Stream
	g, err := d.Record(func(s *gpu.Stream) error { kept = s; return s.Fill(x, 3) })
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := kept.Fill(x, 4); !errors.Is(err, gpu.ErrInvalid) {
		t.Errorf("recording on a graph's stream after Record: %v, want ErrInvalid", err)
	}
	if err := g.Run(); err != nil {
		t.Fatal(err)
	}
	v, err := x.ReadFloat32()
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != 3 || v[3] != 3 {
		t.Errorf("after the replayed fill: %v, want 3s", v)
	}
	empty, err := d.Record(func(*gpu.Stream) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.Run(); err != nil {
		t.Errorf("empty graph: %v", err)
	}
	empty.Close()
	// A graph left open is destroyed with the device (the cleanup checks the validation layer).
	if _, err := d.Record(func(s *gpu.Stream) error { return s.Fill(x, 5) }); err != nil {
		t.Fatal(err)
	}
}
