package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

type ssdCase struct {
	B, L, H, P, G, N                int
	skip, gate, bias, softplus, ini bool
	segBytes, bindLimit             uint64 // force several segments / windows
}

func (c ssdCase) String() string {
	s := fmt.Sprintf("B%d_L%d_H%d_P%d_G%d_N%d", c.B, c.L, c.H, c.P, c.G, c.N)
	for _, o := range []struct {
		on   bool
		name string
	}{{c.skip, "D"}, {c.gate, "z"}, {c.bias, "bias"}, {c.softplus, "softplus"}, {c.ini, "init"}, {c.segBytes > 0, "segments"}, {c.bindLimit > 0, "windows"}} {
		if o.on {
			s += "_" + o.name
		}
	}
	return s
}

type ssdTensors struct {
	x, dt, A, B, C *gpu.Tensor
	opt            SSDOptions
}

// ssdInputs draws a case's inputs (A = −exp(uniform), dt such that softplus(dt + bias) is about
// softplus of uniform(−3, 1)) and returns the reference's view of them and the device tensors.
func ssdInputs(t *testing.T, d *gpu.Device, dt gpu.DType, c ssdCase) (reference.SSDInput, ssdTensors) {
	r := newRand(t)
	in := reference.SSDInput{Batch: c.B, Len: c.L, Heads: c.H, HeadDim: c.P, Groups: c.G, DState: c.N, DtSoftplus: c.softplus}
	var ts ssdTensors
	blhp, blgn := c.B*c.L*c.H*c.P, c.B*c.L*c.G*c.N
	ts.x, in.X = uploadAs(t, d, dt, randn(r, blhp, 1), c.B, c.L, c.H, c.P)
	dts := softplusUniform(r, c.B*c.L*c.H)
	if c.softplus {
		dts = uniform(r, c.B*c.L*c.H, -3, 1)
	}
	ts.dt, in.Dt = uploadAs(t, d, dt, dts, c.B, c.L, c.H)
	in.A = rounded(negExpUniform(r, c.H))
	ts.A = upload(t, d, gpu.F32, in.A, c.H)
	ts.B, in.B = uploadAs(t, d, dt, randn(r, blgn, 1), c.B, c.L, c.G, c.N)
	ts.C, in.C = uploadAs(t, d, dt, randn(r, blgn, 1), c.B, c.L, c.G, c.N)
	ts.opt.DtSoftplus = c.softplus
	if c.skip {
		in.D = rounded(randn(r, c.H, 1))
		ts.opt.D = upload(t, d, gpu.F32, in.D, c.H)
	}
	if c.gate {
		ts.opt.Z, in.Z = uploadAs(t, d, dt, randn(r, blhp, 1), c.B, c.L, c.H, c.P)
	}
	if c.bias {
		in.DtBias = rounded(uniform(r, c.H, -0.5, 0.5))
		ts.opt.DtBias = upload(t, d, gpu.F32, in.DtBias, c.H)
	}
	if c.ini {
		in.InitialStates = rounded(randn(r, c.B*c.H*c.P*c.N, 1))
		ts.opt.InitialState = upload(t, d, gpu.F32, in.InitialStates, c.B, c.H, c.P, c.N)
	}
	return in, ts
}

func runSSD(t *testing.T, d *gpu.Device, dt gpu.DType, c ssdCase, tile *ssdTile, form Form) {
	in, ts := ssdInputs(t, d, dt, c)
	want, wantFin, err := reference.SSD(in)
	if err != nil {
		t.Fatal(err)
	}
	out := poisoned(t, d, dt, c.B, c.L, c.H, c.P)
	ts.opt.FinalState = poisoned(t, d, gpu.F32, c.B, c.H, c.P, c.N)
	ts.opt.tile = tile
	ts.opt.Form = form
	ws := NewWorkspace(d)
	defer ws.Close()
	ws.segBytes = c.segBytes
	if c.segBytes == 0 && c.L%2 == 1 {
		ws = nil // odd lengths take their scratch from stream temporaries
	}
	s := stream(t, d)
	run := func() {
		if err := SSD(s, ws, out, ts.x, ts.dt, ts.A, ts.B, ts.C, ts.opt); err != nil {
			t.Fatal(err)
		}
	}
	if c.bindLimit > 0 {
		withBindLimit(c.bindLimit, run)
	} else {
		run()
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	if c.L > 0 {
		checkErr(t, "out", read(t, out), want, tolFor(dt))
	}
	checkErr(t, "final_states", read(t, ts.opt.FinalState), wantFin, tolFor(dt))
}

func TestSSD(t *testing.T) {
	d := device(t)
	cases := []ssdCase{
		{B: 1, L: 1, H: 2, P: 4, G: 1, N: 16, skip: true, gate: true, bias: true, softplus: true, ini: true},
		{B: 2, L: 7, H: 4, P: 8, G: 4, N: 1, softplus: true},
		{B: 1, L: 64, H: 2, P: 16, G: 1, N: 64, skip: true, gate: true, bias: true, softplus: true, ini: true},
		{B: 1, L: 2049, H: 2, P: 8, G: 2, N: 16, skip: true, gate: true, bias: true, softplus: true, ini: true},
		{B: 2, L: 130, H: 3, P: 5, G: 3, N: 128, skip: true, gate: true, ini: true},
		{B: 1, L: 70, H: 1, P: 256, G: 1, N: 256, skip: true, softplus: true, ini: true},
		{B: 1, L: 0, H: 2, P: 4, G: 1, N: 8, ini: true},
		{B: 2, L: 300, H: 2, P: 12, G: 1, N: 20, skip: true, gate: true, softplus: true, ini: true, segBytes: 2 * 2 * 2 * 12 * 20 * 4},
		{B: 2, L: 200, H: 4, P: 8, G: 2, N: 16, skip: true, gate: true, softplus: true, ini: true, bindLimit: 16 << 10},
	}
	if *long {
		cases = append(cases, ssdCase{B: 1, L: 16384, H: 2, P: 64, G: 1, N: 128, skip: true, gate: true, bias: true, softplus: true, ini: true})
	}
	for _, dt := range dtypes(d) {
		for _, c := range cases {
			for _, form := range []Form{FormChunked, FormRecurrent} {
				if form == FormRecurrent && c.L > 4096 {
					continue // the long case checks the chunked form's segments
				}
				t.Run(fmt.Sprintf("%v_%v_%v", dt, c, form), func(t *testing.T) { runSSD(t, d, dt, c, nil, form) })
			}
		}
	}
}

// TestSSDTiles runs the GPU tile shapes (small tiles, many lanes) on whatever device is here.
func TestSSDTiles(t *testing.T) {
	d := device(t)
	tiles := []ssdTile{
		{Local: 64, Q: 64, CBI: 4, CBJ: 8, StP: 4, StN: 8, OutI: 4, OutP: 8, RecT: 4},
		{Local: 8, Q: 32, CBI: 8, CBJ: 4, StP: 8, StN: 4, OutI: 8, OutP: 4, RecT: 2},
	}
	c := ssdCase{B: 1, L: 150, H: 2, P: 12, G: 1, N: 16, skip: true, gate: true, softplus: true, ini: true}
	for _, tile := range tiles {
		t.Run(fmt.Sprintf("%+v", tile), func(t *testing.T) { runSSD(t, d, gpu.F32, c, &tile, FormChunked) })
	}
}

// TestSSDInPlace advances the state in place (InitialStates is FinalStates), in both forms.
func TestSSDInPlace(t *testing.T) {
	for _, form := range []Form{FormChunked, FormRecurrent} {
		t.Run(form.String(), func(t *testing.T) { runSSDInPlace(t, form) })
	}
}

func runSSDInPlace(t *testing.T, form Form) {
	d := device(t)
	c := ssdCase{B: 1, L: 200, H: 2, P: 8, G: 1, N: 16, skip: true, softplus: true, ini: true, segBytes: 2 * 8 * 16 * 4}
	in, ts := ssdInputs(t, d, gpu.F32, c)
	ts.opt.Form = form
	want, wantFin, err := reference.SSD(in)
	if err != nil {
		t.Fatal(err)
	}
	out := poisoned(t, d, gpu.F32, c.B, c.L, c.H, c.P)
	ts.opt.FinalState = ts.opt.InitialState
	ws := NewWorkspace(d)
	defer ws.Close()
	ws.segBytes = c.segBytes
	s := stream(t, d)
	if err := SSD(s, ws, out, ts.x, ts.dt, ts.A, ts.B, ts.C, ts.opt); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "out", read(t, out), want, tolF32)
	checkErr(t, "state", read(t, ts.opt.FinalState), wantFin, tolF32)
}

// TestSSDStateUpdate: decode steps of one and of three tokens, and the whole sequence at once
// (the recurrent variant), state advanced in place, equal the scan.
func TestSSDStateUpdate(t *testing.T) {
	d := device(t)
	for _, dt := range dtypes(d) {
		for _, c := range []ssdCase{
			{B: 2, L: 9, H: 4, P: 8, G: 2, N: 16, skip: true, gate: true, bias: true, softplus: true, ini: true},
			{B: 1, L: 5, H: 2, P: 3, G: 1, N: 5, gate: true, softplus: true, ini: true},
			{B: 3, L: 3, H: 6, P: 12, G: 3, N: 20, skip: true, gate: true, bias: true, softplus: true, ini: true},
		} {
			for _, tex := range []bool{true, false} { // the one-token steps' texel variant (CPU devices) and its fallback
				t.Run(fmt.Sprintf("%v_%v_texel=%v", dt, c, tex), func(t *testing.T) {
					ssdTexel = tex
					t.Cleanup(func() { ssdTexel = true })
					in, ts := ssdInputs(t, d, dt, c)
					want, wantFin, err := reference.SSD(in)
					if err != nil {
						t.Fatal(err)
					}
					opt := StateUpdateOptions{D: ts.opt.D, DtBias: ts.opt.DtBias, DtSoftplus: c.softplus}
					// All tokens in one call.
					state := upload(t, d, gpu.F32, in.InitialStates, c.B, c.H, c.P, c.N)
					out := poisoned(t, d, dt, c.B, c.L, c.H, c.P)
					s := stream(t, d)
					o := opt
					o.Z = ts.opt.Z
					if err := SSDStateUpdate(s, out, state, ts.x, ts.dt, ts.A, ts.B, ts.C, o); err != nil {
						t.Fatal(err)
					}
					if err := s.Run(); err != nil {
						t.Fatal(err)
					}
					checkErr(t, "recurrent out", read(t, out), want, tolFor(dt))
					checkErr(t, "recurrent state", read(t, state), wantFin, tolFor(dt))

					// Token steps of 1 and 3 (slices made on the host).
					state = upload(t, d, gpu.F32, in.InitialStates, c.B, c.H, c.P, c.N)
					got := make([]float32, c.B*c.L*c.H*c.P)
					slice := func(x []float64, row, t0, n int) []float64 { // [B, L, row] → [B, n, row]
						out := make([]float64, c.B*n*row)
						for b := 0; b < c.B; b++ {
							copy(out[b*n*row:(b+1)*n*row], x[(b*c.L+t0)*row:(b*c.L+t0+n)*row])
						}
						return out
					}
					for t0, step := 0, 1; t0 < c.L; t0, step = t0+step, 4-step {
						n := min(step, c.L-t0)
						xs, dts, bs := []int{c.B, n, c.H, c.P}, []int{c.B, n, c.H}, []int{c.B, n, c.G, c.N}
						if n == 1 {
							xs, dts, bs = []int{c.B, c.H, c.P}, []int{c.B, c.H}, []int{c.B, c.G, c.N}
						}
						xt := upload(t, d, dt, slice(in.X, c.H*c.P, t0, n), xs...)
						zt := upload(t, d, dt, slice(in.Z, c.H*c.P, t0, n), xs...)
						dtt := upload(t, d, dt, slice(in.Dt, c.H, t0, n), dts...)
						bt := upload(t, d, dt, slice(in.B, c.G*c.N, t0, n), bs...)
						ct := upload(t, d, dt, slice(in.C, c.G*c.N, t0, n), bs...)
						ot := poisoned(t, d, dt, xs...)
						o := opt
						o.Z = zt
						if err := SSDStateUpdate(s, ot, state, xt, dtt, ts.A, bt, ct, o); err != nil {
							t.Fatal(err)
						}
						if err := s.Run(); err != nil {
							t.Fatal(err)
						}
						v := read(t, ot)
						row := c.H * c.P
						for b := 0; b < c.B; b++ {
							copy(got[(b*c.L+t0)*row:(b*c.L+t0+n)*row], v[b*n*row:(b+1)*n*row])
						}
					}
					checkErr(t, "steps out", got, want, tolFor(dt))
					checkErr(t, "steps state", read(t, state), wantFin, tolFor(dt))
				})
			}
		}
	}
}

func TestSSDErrors(t *testing.T) {
	d := device(t)
	f32 := func(shape ...int) *gpu.Tensor {
		n := 1
		for _, s := range shape {
			n *= s
		}
		return upload(t, d, gpu.F32, make([]float64, n), shape...)
	}
	x, out, dt, A := f32(1, 8, 4, 8), poisoned(t, d, gpu.F32, 1, 8, 4, 8), f32(1, 8, 4), f32(4)
	B, C := f32(1, 8, 2, 16), f32(1, 8, 2, 16)
	st := f32(1, 4, 8, 16)
	ws := NewWorkspace(d)
	defer ws.Close()
	s := stream(t, d)
	o := SSDOptions{}
	u := StateUpdateOptions{}
	cases := map[string]error{
		"nil stream":      SSD(nil, ws, out, x, dt, A, B, C, o),
		"nil x":           SSD(s, ws, out, nil, dt, A, B, C, o),
		"x 3-D":           SSD(s, ws, out, f32(8, 4, 8), dt, A, B, C, o),
		"out shape":       SSD(s, ws, f32(1, 8, 4, 7), x, dt, A, B, C, o),
		"dt shape":        SSD(s, ws, out, x, f32(1, 8, 3), A, B, C, o),
		"A shape":         SSD(s, ws, out, x, dt, f32(3), B, C, o),
		"B L":             SSD(s, ws, out, x, dt, A, f32(1, 7, 2, 16), C, o),
		"G ∤ H":           SSD(s, ws, out, x, dt, A, f32(1, 8, 3, 16), f32(1, 8, 3, 16), o),
		"N > 256":         SSD(s, ws, out, x, dt, A, f32(1, 8, 2, 300), f32(1, 8, 2, 300), o),
		"C shape":         SSD(s, ws, out, x, dt, A, B, f32(1, 8, 2, 15), o),
		"nil C":           SSD(s, ws, out, x, dt, A, B, nil, o),
		"B f16":           SSD(s, ws, out, x, dt, A, upload(t, d, gpu.F16, make([]float64, 256), 1, 8, 2, 16), C, o),
		"D shape":         SSD(s, ws, out, x, dt, A, B, C, SSDOptions{D: f32(5)}),
		"z shape":         SSD(s, ws, out, x, dt, A, B, C, SSDOptions{Z: f32(1, 8, 4, 9)}),
		"bias shape":      SSD(s, ws, out, x, dt, A, B, C, SSDOptions{DtBias: f32(1)}),
		"init shape":      SSD(s, ws, out, x, dt, A, B, C, SSDOptions{InitialState: f32(1, 4, 8, 15)}),
		"final shape":     SSD(s, ws, out, x, dt, A, B, C, SSDOptions{FinalState: f32(2, 4, 8, 16)}),
		"form":            SSD(s, ws, out, x, dt, A, B, C, SSDOptions{Form: Form(7)}),
		"P > 256":         SSD(s, ws, f32(1, 2, 4, 300), f32(1, 2, 4, 300), f32(1, 2, 4), A, f32(1, 2, 2, 16), f32(1, 2, 2, 16), o),
		"update nil st":   SSDStateUpdate(s, f32(1, 4, 8), nil, f32(1, 4, 8), f32(1, 4), A, f32(1, 2, 16), f32(1, 2, 16), u),
		"update st N":     SSDStateUpdate(s, f32(1, 4, 8), f32(1, 4, 8, 8), f32(1, 4, 8), f32(1, 4), A, f32(1, 2, 16), f32(1, 2, 16), u),
		"update B dims":   SSDStateUpdate(s, f32(1, 4, 8), st, f32(1, 4, 8), f32(1, 4), A, f32(1, 1, 2, 16), f32(1, 2, 16), u),
		"update dt dims":  SSDStateUpdate(s, f32(1, 4, 8), st, f32(1, 4, 8), f32(1, 1, 4), A, f32(1, 2, 16), f32(1, 2, 16), u),
		"update x 2-D":    SSDStateUpdate(s, f32(4, 8), st, f32(4, 8), f32(1, 4), A, f32(1, 2, 16), f32(1, 2, 16), u),
		"update out T":    SSDStateUpdate(s, f32(1, 2, 4, 8), st, f32(1, 3, 4, 8), f32(1, 3, 4), A, f32(1, 3, 2, 16), f32(1, 3, 2, 16), u),
		"update nil B":    SSDStateUpdate(s, f32(1, 4, 8), st, f32(1, 4, 8), f32(1, 4), A, nil, f32(1, 2, 16), u),
		"update B1 batch": SSDStateUpdate(s, f32(1, 4, 8), st, f32(1, 4, 8), f32(1, 4), A, f32(2, 2, 16), f32(1, 2, 16), u),
	}
	for name, err := range cases {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// TestSSDFormAuto: FormAuto takes the recurrent form on CPU devices up to ssdRecurrentMaxL tokens
// and the chunked form beyond, and always the chunked form on GPUs; explicit forms are kept.
func TestSSDFormAuto(t *testing.T) {
	cpu, gpuInfo := gpu.DeviceInfo{Type: gpu.CPU}, gpu.DeviceInfo{Type: gpu.Discrete}
	for _, c := range []struct {
		info gpu.DeviceInfo
		l    int
		f    Form
		want Form
	}{
		{cpu, 1, FormAuto, FormRecurrent},
		{cpu, ssdRecurrentMaxL, FormAuto, FormRecurrent},
		{cpu, ssdRecurrentMaxL + 1, FormAuto, FormChunked},
		{cpu, 512, FormAuto, FormChunked},
		{gpuInfo, 1, FormAuto, FormChunked},
		{gpuInfo, 512, FormRecurrent, FormRecurrent},
		{cpu, 1, FormChunked, FormChunked},
	} {
		if got := ssdForm(c.info, ssdDims{b: 1, l: c.l, h: 4, p: 8, g: 1, n: 16}, c.f); got != c.want {
			t.Errorf("%v L=%d %v: got %v, want %v", c.info.Type, c.l, c.f, got, c.want)
		}
	}
}
