package bench

import (
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

func TestCeilings(t *testing.T) {
	d, err := gpu.Open()
	if err != nil {
		t.Skip(err)
	}
	defer d.Close()
	c, err := MeasureCeilings(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", c)
	if c.CopyGBps <= 0 || c.FMAGFLOPs <= 0 {
		t.Fatalf("ceilings %+v", c)
	}
}
