package ops

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestGLACompileTime times the first dispatch (which compiles the pipeline on lavapipe) of each
// GLA kernel at K = V = 64; GLA_KERNEL picks one.
func TestGLACompileTime(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	const K, V = 64, 64
	tile := glaTileFor(d.Info(), K, V)
	f := func(n ...int) *gpu.Tensor { return poisoned(t, d, gpu.F32, n...) }
	R, W, RW := gpu.Read, gpu.Write, gpu.ReadWrite
	tab, err := d.FromInt32([]int32{0, 1, 0, 64}, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	q, k, v, g := f(1, 64, 1, K), f(1, 64, 1, K), f(1, 64, 1, V), f(1, 64, 1, K)
	for _, x := range []*gpu.Tensor{q, k, v, g} {
		x.Fill(0.5)
	}
	o, st, hb, ab, qs := f(1, 64, 1, V), f(1, 1, K, V), f(K*V), f(64*64), f(64*K)
	st.Fill(0)
	run := func(name string, bind []gpu.Access, push []byte, spec []uint32, groups [3]uint32, ts ...*gpu.Tensor) {
		if w := os.Getenv("GLA_KERNEL"); w != "" && w != name {
			return
		}
		kern, err := kernel(d, name, bind, len(push), spec...)
		if err != nil {
			t.Fatal(err)
		}
		s := stream(t, d)
		t0 := time.Now()
		if err := s.Dispatch(kern, groups, push, ts...); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := s.Dispatch(kern, groups, push, ts...); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: first %v, second %v", name, t1.Sub(t0), time.Since(t1))
	}
	run("gla_state", []gpu.Access{R, R, R, R, R, RW, W}, gpu.Push(1, K, V, 1, 0, 1, K/tile.StateTK, 1, 1),
		[]uint32{8, uint32(tile.StateTK), uint32(tile.StateTV), 1, 1}, [3]uint32{1, 1, 1}, tab, k, v, g, st, st, hb)
	run("gla_out", []gpu.Access{R, R, R, R, R, W}, gpu.Push(1, V, K, K, V, 1, 0, 1, 0, V/tile.OutTV),
		[]uint32{8, uint32(tile.OutTM), uint32(tile.OutTV), 1}, [3]uint32{1, 1, uint32(64 / tile.OutTM * (V / tile.OutTV))}, tab, qs, ab, hb, v, o)
	run("gla_rec", []gpu.Access{R, R, R, R, R, W, RW}, gpu.Push(64, 1, K, V, 1, 0, V/tile.RecTV, float32(0.125)),
		[]uint32{8, K, uint32(tile.RecTV), 1, 1}, [3]uint32{1, 1, 1}, st, q, k, v, g, o, st)
	run("gla_intra", []gpu.Access{R, R, R, R, W, W}, gpu.Push(1, K, K, 1, 0, 1, 0, float32(0.125)),
		[]uint32{8, 1, 3}, [3]uint32{1, 1, 1}, tab, q, k, g, ab, qs)
	run("gla_diag", []gpu.Access{R, R, R, R, W, W}, gpu.Push(1, K, K, 1, 0, 1, 0, float32(0.125)),
		[]uint32{8, 1}, [3]uint32{1, 1, 4}, tab, q, k, g, ab, qs)
}

// TestGLAProfile prints the GPU time of each GLA dispatch at B=1 T=512 H=32 K=V=64 (and
// GLA_T, GLA_H) and of the recurrent kernel over the same tokens.
func TestGLAProfile(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	T, H := 512, 32
	if v := os.Getenv("GLA_T"); v != "" {
		fmt.Sscan(v, &T)
	}
	if v := os.Getenv("GLA_H"); v != "" {
		fmt.Sscan(v, &H)
	}
	c := glaCase{B: 1, T: T, H: H, K: 64, V: 64, gateN: 1}
	r := newRand(t)
	nk := c.T * c.H * c.K
	q, k, v, g := upload(t, d, gpu.F32, randn(r, nk, 1), 1, T, H, 64), upload(t, d, gpu.F32, randn(r, nk, 1), 1, T, H, 64),
		upload(t, d, gpu.F32, randn(r, nk, 1), 1, T, H, 64), upload(t, d, gpu.F32, make([]float64, nk), 1, T, H, 64)
	o, st := poisoned(t, d, gpu.F32, 1, T, H, 64), poisoned(t, d, gpu.F32, 1, H, 64, 64)
	ws := NewWorkspace(d)
	defer ws.Close()
	s, err := d.NewStream(gpu.WithTimestamps(64))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for rep := 0; rep < 3; rep++ {
		if err := GLA(s, ws, o, q, k, v, g, GLAOptions{FinalState: st}); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		msg := ""
		for _, tm := range s.Timings() {
			msg += fmt.Sprintf(" %s %.2fms", tm.Name, float64(tm.Duration.Microseconds())/1000)
		}
		t.Logf("chunked %v:%s", s.Elapsed(), msg)
	}
	for rep := 0; rep < 2; rep++ {
		if err := GLARecurrent(s, o, st, q, k, v, g, GLARecurrentOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		t.Logf("recurrent %v", s.Elapsed())
	}
}
