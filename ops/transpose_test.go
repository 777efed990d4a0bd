package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/reference"
)

func TestTranspose(t *testing.T) {
	d := device(t)
	r := newRand(t)
	type tc struct{ B, R, C, start, width int }
	for _, c := range []tc{{1, 1, 1, 0, 1}, {2, 5, 3, 0, 3}, {2, 63, 10, 4, 17}, {3, 200, 64, 64, 128}, {1, 7, 129, 0, 129}} {
		t.Run(fmt.Sprintf("B%d_R%d_C%d_at%d_of%d", c.B, c.R, c.C, c.start, c.width), func(t *testing.T) {
			full := rounded(randn(r, c.B*c.R*c.width, 1))
			x := make([]float64, 0, c.B*c.R*c.C)
			for row := range c.B * c.R {
				x = append(x, full[row*c.width+c.start:row*c.width+c.start+c.C]...)
			}
			xt := upload(t, d, gpu.F32, full, c.B, c.R, c.width)
			out := poisoned(t, d, gpu.F32, c.B, c.C, c.R)
			s := stream(t, d)
			if err := Transpose(s, out, Cols(xt, c.start, c.C), c.B); err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			want, _ := reference.Transpose(x, c.B, c.R, c.C)
			checkErr(t, "transpose", read(t, out), want, 0)
		})
	}
}

func TestTransposeErrors(t *testing.T) {
	d := device(t)
	s := stream(t, d)
	x := poisoned(t, d, gpu.F32, 2, 3, 8)
	for name, err := range map[string]error{
		"batch":     Transpose(s, poisoned(t, d, gpu.F32, 4, 8, 1), Whole(x), 4),
		"batch 0":   Transpose(s, poisoned(t, d, gpu.F32, 2, 8, 3), Whole(x), 0),
		"out shape": Transpose(s, poisoned(t, d, gpu.F32, 2, 3, 8), Whole(x), 2),
		"cols":      Transpose(s, poisoned(t, d, gpu.F32, 2, 4, 3), Cols(x, 6, 4), 2),
	} {
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: got %v, want ErrInvalidArgument", name, err)
		}
	}
}
