package bench

import (
	"errors"
	"os"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

// TestCeilings measures every variant and checks that the reported ceilings are the best of them.
func TestCeilings(t *testing.T) {
	d, err := gpu.Open()
	if errors.Is(err, gpu.ErrNoDevice) && os.Getenv("VKSEQ_REQUIRE_DEVICE") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := MeasureCeilings(d)
	if err != nil {
		t.Fatal(err)
	}
	if c.CopyGBps <= 0 || c.FMAGFLOPs <= 0 {
		t.Fatalf("ceilings %+v", c)
	}
	if want := len(copyVariants) + len(fmaVariants); len(c.Variants) != want {
		t.Fatalf("%d variants measured, want %d", len(c.Variants), want)
	}
	best := 0
	for _, v := range c.Variants {
		t.Logf("%-5s %-16s %8.2f best=%v", v.Ceiling, v.Kernel, v.Rate, v.Best)
		top := c.FMAGFLOPs
		if v.Ceiling == "copy" {
			top = c.CopyGBps
		}
		if v.Rate > top || v.Rate <= 0 {
			t.Errorf("%s %s: rate %.3g, ceiling %.3g", v.Ceiling, v.Kernel, v.Rate, top)
		}
		if v.Best {
			best++
		}
	}
	if best != 2 || c.CopyKernel == "" || c.FMAKernel == "" {
		t.Errorf("winners: copy %q fma %q, %d marked best; want one of each", c.CopyKernel, c.FMAKernel, best)
	}
}
