package suite

import (
	"fmt"
	"strings"

	"github.com/vkseq/vkseq/gpu"
	"github.com/vkseq/vkseq/ops"
)

// formJob is one measurement of an op that has a chunked and a recurrent form: the chunked form,
// the recurrent form, or (auto) the prefill entry point as a user calls it, with ops.FormAuto.
type formJob[S any] struct {
	sh        S
	recurrent bool
	auto      bool
}

// formBench plans the bench of an op with a chunked and a recurrent form (gla, ssd). Without size
// parameters it measures the default jobs, then the default decode step; with them, the one shape
// they give in the forms variant= asks for (chunked, recurrent, auto, or both: all of them), or
// its decode step when the shape has a single token. The auto variant (the prefill entry point
// with ops.FormAuto, whichever form it takes) is measured where auto is set.
type formBench[S any] struct {
	op       string
	defaults func(quick bool) []formJob[S]
	decode0  S                                                   // the default decode step's shape
	parse    func(p Params) (sh S, decode bool, err error)       // the shape of the size parameters
	one      func(ws *ops.Workspace, sh S, recurrent bool) error // measures one forced form
	auto     func(ws *ops.Workspace, sh S) error                 // measures the entry point with FormAuto (nil: none)
	decode   func(sh S) error                                    // measures one decode step
}

// run plans and measures; p holds only the size parameters and variant (dtype already taken).
func (fb formBench[S]) run(b *Bencher, p Params) error {
	variant := p.String("variant", "both")
	if variant != "both" && variant != "chunked" && variant != "recurrent" && (variant != "auto" || fb.auto == nil) {
		want := "chunked, recurrent or both"
		if fb.auto != nil {
			want = "auto, chunked, recurrent or both (all three)"
		}
		return fmt.Errorf("%s: variant=%q: want %s", fb.op, variant, want)
	}
	delete(p, "variant")
	var jobs []formJob[S]
	defaults := len(p) == 0
	if defaults {
		jobs = fb.defaults(b.Quick)
	} else {
		sh, decode, err := fb.parse(p)
		if err != nil {
			return err
		}
		if decode {
			return fb.decode(sh)
		}
		if fb.auto != nil && (variant == "both" || variant == "auto") {
			jobs = append(jobs, formJob[S]{sh: sh, auto: true})
		}
		if variant == "both" || variant == "chunked" {
			jobs = append(jobs, formJob[S]{sh: sh})
		}
		if variant == "both" || variant == "recurrent" {
			jobs = append(jobs, formJob[S]{sh: sh, recurrent: true})
		}
	}
	ws := ops.NewWorkspace(b.Device)
	defer ws.Close()
	for _, j := range jobs {
		var err error
		if j.auto {
			if fb.auto == nil {
				continue
			}
			err = fb.auto(ws, j.sh)
		} else {
			err = fb.one(ws, j.sh, j.recurrent)
		}
		if err != nil {
			return err
		}
	}
	if defaults {
		return fb.decode(fb.decode0)
	}
	return nil
}

// formTaken runs record once on a timed stream and reports the form the prefill entry point took:
// recurrent when one of its kernels is a recurrent one (its name contains "_rec"), else chunked.
func formTaken(d *gpu.Device, record func(s *gpu.Stream) error) (ops.Form, error) {
	s, err := d.NewStream(gpu.WithTimestamps(4096))
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := record(s); err != nil {
		return 0, err
	}
	if err := s.Run(); err != nil {
		return 0, err
	}
	for _, t := range s.Timings() {
		if strings.Contains(t.Name, "_rec") {
			return ops.FormRecurrent, nil
		}
	}
	return ops.FormChunked, nil
}
