package ops

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/vkseq/vkseq/gpu"
)

// TestDeltaProfile times each kernel of the chunked delta rule (GPU timestamps, second of two
// runs) against the recurrent form at DELTA_T (default 8192) H=4 K=V=64 gated, or DELTA_H, DELTA_K;
// DELTA_FORM=chunked or recurrent runs one form only.
func TestDeltaProfile(t *testing.T) {
	if !*explore {
		t.Skip("-explore")
	}
	d := device(t)
	env := func(n string, def int) int {
		if v, err := strconv.Atoi(os.Getenv(n)); err == nil {
			return v
		}
		return def
	}
	T, H, K := env("DELTA_T", 8192), env("DELTA_H", 4), env("DELTA_K", 64)
	V := K
	f := func(n ...int) *gpu.Tensor {
		x := poisoned(t, d, gpu.F32, n...)
		x.Fill(0.01)
		return x
	}
	q, k, v, beta, g, o := f(1, T, H, K), f(1, T, H, K), f(1, T, H, V), f(1, T, H), f(1, T, H), f(1, T, H, V)
	g.Fill(-0.1)
	st := f(1, H, K, V)
	ws := NewWorkspace(d)
	defer ws.Close()
	forms := []bool{true, false}
	switch os.Getenv("DELTA_FORM") {
	case "chunked":
		forms = forms[:1]
	case "recurrent":
		forms = forms[1:]
	}
	for _, chunked := range forms {
		s, err := d.NewStream(gpu.WithTimestamps(1000))
		if err != nil {
			t.Fatal(err)
		}
		for run := 0; run < 2; run++ {
			if chunked {
				err = DeltaRule(s, ws, o, q, k, v, beta, g, DeltaRuleOptions{InitialState: st, FinalState: st})
			} else {
				err = DeltaRuleRecurrent(s, o, st, q, k, v, beta, g, DeltaRuleRecurrentOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
		}
		sum := map[string]time.Duration{}
		for _, tm := range s.Timings() {
			sum[tm.Name] += tm.Duration
		}
		var names []string
		for n := range sum {
			names = append(names, n)
		}
		sort.Strings(names)
		out := fmt.Sprintf("T=%d H=%d K=V=%d chunked=%v total %v:", T, H, K, chunked, s.Elapsed())
		for _, n := range names {
			out += fmt.Sprintf(" %s %.1f ms", n, float64(sum[n].Microseconds())/1e3)
		}
		t.Log(out)
		s.Close()
	}
}
