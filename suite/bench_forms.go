package suite

import (
	"fmt"

	"github.com/vkseq/vkseq/ops"
)

// formJob is one measurement of an op that has a chunked and a recurrent form.
type formJob[S any] struct {
	sh        S
	recurrent bool
}

// formBench plans the bench of an op with a chunked and a recurrent form (gla, ssd). Without size
// parameters it measures the default jobs, then the default decode step; with them, the one shape
// they give in the forms variant= asks for (chunked, recurrent or both), or its decode step when
// the shape has a single token.
type formBench[S any] struct {
	op       string
	defaults func(quick bool) []formJob[S]
	decode0  S                                                   // the default decode step's shape
	parse    func(p Params) (sh S, decode bool, err error)       // the shape of the size parameters
	one      func(ws *ops.Workspace, sh S, recurrent bool) error // measures one job
	decode   func(sh S) error                                    // measures one decode step
}

// run plans and measures; p holds only the size parameters and variant (dtype already taken).
func (fb formBench[S]) run(b *Bencher, p Params) error {
	variant := p.String("variant", "both")
	if variant != "both" && variant != "chunked" && variant != "recurrent" {
		return fmt.Errorf("%s: variant=%q: want chunked, recurrent or both", fb.op, variant)
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
		if variant != "recurrent" {
			jobs = append(jobs, formJob[S]{sh: sh})
		}
		if variant != "chunked" {
			jobs = append(jobs, formJob[S]{sh: sh, recurrent: true})
		}
	}
	ws := ops.NewWorkspace(b.Device)
	defer ws.Close()
	for _, j := range jobs {
		if err := fb.one(ws, j.sh, j.recurrent); err != nil {
			return err
		}
	}
	if defaults {
		return fb.decode(fb.decode0)
	}
	return nil
}
