package suite

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/tensorio"
)

// FuzzRun drives every op's Run (the code behind `vkbench run`) with random inputs made from its
// Example: tensors dropped, added, retyped (F32/I32) or reshaped, values with NaN, ±Inf and huge
// magnitudes, and random parameters. Run must not panic, and every rejection must be an error that
// names a tensor or a parameter. VKSEQ_FUZZ_OP=NAME fuzzes one op (make fuzz loops over them);
// the seed corpus (every op's example and a few mutations of each) runs as a normal test.
func FuzzRun(f *testing.F) {
	for _, op := range Ops() {
		f.Add(op.Name, []byte{}, "")
		f.Add(op.Name, []byte{2, 3, 0, 5, 2, 1, 1, 7, 2, 0, 9}, "")
		f.Add(op.Name, []byte{0, 1, 1, 3, 7, 16, 2, 5, 0, 1}, "scale=nan,dtype=f16")
		f.Add(op.Name, []byte{3, 1, 255, 200, 3, 64, 1}, "fn=bogus,eps=-1,n_fft=7,hop_length=0")
	}
	only := os.Getenv("VKSEQ_FUZZ_OP")
	if only != "" {
		if _, ok := Lookup(only); !ok {
			f.Fatalf("VKSEQ_FUZZ_OP=%q: no such op; ops are %v", only, Names())
		}
	}
	f.Fuzz(func(t *testing.T, name string, layout []byte, params string) {
		if only != "" {
			name = only
		}
		op, ok := Lookup(name)
		if !ok {
			ops := Ops()
			op = ops[int(uint(len(name)))%len(ops)]
		}
		d := fuzzDevice(t)
		ins, p := fuzzInputs(op, layout)
		if extra, err := ParseParams(params); err == nil {
			for k, v := range extra {
				p[k] = v
			}
		}
		file, err := ExampleFile(ins)
		if err != nil {
			return // not a writable file (e.g. a duplicate name): nothing reaches Run
		}
		out, err := op.Run(context.Background(), d, file, p)
		if err != nil {
			if !namesSomething(err, ins, p, op) {
				t.Errorf("%s: error names no tensor or parameter: %v\ninputs %v params %v", op.Name, err, describe(ins), p)
			}
			return
		}
		for _, o := range out {
			n := 1
			for _, s := range o.Shape {
				n *= s
			}
			if len(o.F32)+len(o.I32) != n {
				t.Errorf("%s: output %s has shape %v but %d values", op.Name, o.Name, o.Shape, len(o.F32)+len(o.I32))
			}
		}
	})
}

var fuzzDev struct {
	once sync.Once
	d    *gpu.Device
	err  error
}

// fuzzDevice opens one device for the process (fuzz workers call the target many times).
func fuzzDevice(t *testing.T) *gpu.Device {
	fuzzDev.once.Do(func() { fuzzDev.d, fuzzDev.err = gpu.Open() })
	if errors.Is(fuzzDev.err, gpu.ErrNoDevice) && os.Getenv("VKSEQ_REQUIRE_DEVICE") == "" {
		t.Skip(fuzzDev.err)
	}
	if fuzzDev.err != nil {
		t.Fatal(fuzzDev.err)
	}
	t.Cleanup(func() {
		msgs, n := gpu.ValidationMessages()
		for _, m := range msgs {
			t.Error(m)
		}
		if n > len(msgs) {
			t.Errorf("%d more validation messages", n-len(msgs))
		}
	})
	return fuzzDev.d
}

// fuzzBytes hands out layout bytes, then zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next() int {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return int(v)
}

// fuzzInputs mutates op's example inputs as layout says; at most 1<<16 values in all.
func fuzzInputs(op Op, layout []byte) ([]tensorio.Tensor, Params) {
	ex, p0 := op.Example()
	p := Params{}
	for k, v := range p0 {
		p[k] = v
	}
	lb := fuzzBytes(layout)
	var seed uint64
	for _, c := range layout {
		seed = seed*131 + uint64(c)
	}
	r := rand.New(rand.NewPCG(seed, 11))
	budget := 1 << 16
	var out []tensorio.Tensor
	for _, t := range ex {
		shape := append([]int(nil), t.Shape...)
		dt := t.DType
		switch lb.next() % 8 {
		case 0, 4, 5, 6, 7: // keep
		case 1: // drop
			continue
		case 2: // new sizes
			for i := range shape {
				shape[i] = lb.next() % 40
			}
		case 3: // another rank
			shape = shape[:lb.next()%(len(shape)+1)]
			for i := lb.next() % 3; i > 0; i-- {
				shape = append(shape, 1+lb.next()%9)
			}
		}
		if lb.next()%16 == 1 {
			if dt == tensorio.I32 {
				dt = tensorio.F32
			} else {
				dt = tensorio.I32
			}
		}
		ft := fuzzTensor(r, t.Name, dt, shape, lb.next(), &budget)
		if special := lb.next() % 4; special != 1 && dt == t.DType && len(ft.F32)+len(ft.I32) == len(t.F32)+len(t.I32) && slices.Equal(ft.Shape, t.Shape) {
			ft.F32, ft.I32 = t.F32, t.I32 // the example's values (valid decays, offsets) unless mutated
		}
		out = append(out, ft)
	}
	if lb.next()%8 == 1 {
		out = append(out, fuzzTensor(r, "bogus", tensorio.F32, []int{3}, 0, &budget))
	}
	return out, p
}

// fuzzTensor fills a tensor with normal values, or, as special says, a sprinkle of NaN, ±Inf or
// huge values; integer tensors get small values around a sorted ramp (cu_seqlens-like).
func fuzzTensor(r *rand.Rand, name string, dt tensorio.DType, shape []int, special int, budget *int) tensorio.Tensor {
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n > *budget {
		shape, n = []int{1}, 1
	}
	*budget -= n
	t := tensorio.Tensor{Name: name, DType: dt, Shape: shape}
	if dt == tensorio.I32 {
		t.I32 = make([]int32, n)
		for i := range t.I32 {
			t.I32[i] = int32(i*r.IntN(8)) - int32(r.IntN(3))
		}
		return t
	}
	t.F32 = make([]float32, n)
	for i := range t.F32 {
		t.F32[i] = float32(r.NormFloat64())
		if special%4 == 1 && r.IntN(8) == 0 {
			t.F32[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 3e38, -3e38, 1e-40}[r.IntN(6)]
		}
	}
	return t
}

var identRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// namesSomething reports whether err names a tensor of the inputs or of the op's documented
// inputs, a parameter given or documented, or the memory a request needs.
func namesSomething(err error, ins []tensorio.Tensor, p Params, op Op) bool {
	msg := err.Error()
	var names []string
	for _, t := range ins {
		names = append(names, t.Name)
	}
	ex, _ := op.Example()
	for _, t := range ex {
		names = append(names, t.Name)
	}
	for k := range p {
		names = append(names, k)
	}
	for _, w := range identRE.FindAllString(op.Inputs+" "+op.ParamsDoc+" "+op.Outputs, -1) {
		if len(w) > 1 {
			names = append(names, w)
		}
	}
	for _, n := range names {
		if containsWord(msg, n) {
			return true
		}
	}
	return strings.Contains(msg, "bytes")
}

// containsWord reports whether w occurs in s with no identifier character on either side.
func containsWord(s, w string) bool {
	ident := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	if w == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		a, b := i+j, i+j+len(w)
		if (a == 0 || !ident(s[a-1])) && (b == len(s) || !ident(s[b])) {
			return true
		}
		i = a + 1
	}
}

func describe(ts []tensorio.Tensor) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s:%s%v", t.Name, t.DType, t.Shape))
	}
	return strings.Join(parts, " ")
}

// TestMakeFuzzCoversEveryOp checks that `make fuzz` (FUZZ_OPS in the Makefile) lists every
// registered op.
func TestMakeFuzzCoversEveryOp(t *testing.T) {
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Skip(err)
	}
	m := regexp.MustCompile(`(?m)^FUZZ_OPS \?= (.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no FUZZ_OPS line in the Makefile")
	}
	listed := map[string]bool{}
	for _, n := range strings.Fields(string(m[1])) {
		listed[n] = true
	}
	for _, n := range Names() {
		if !listed[n] {
			t.Errorf("op %s is not in the Makefile's FUZZ_OPS", n)
		}
	}
}
