package bench

import (
	"errors"
	"os"
	"testing"

	"github.com/vkseq/vkseq/gpu"
)

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
	t.Logf("%+v", c)
	if c.CopyGBps <= 0 || c.FMAGFLOPs <= 0 {
		t.Fatalf("ceilings %+v", c)
	}
}
