package suite

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/vkseq/vkseq/gpu"
)

// ErrMemory is wrapped by the errors of requests (stft, istft and mel_fbanks bench, verify and
// run) whose host or device allocations would exceed the memory this machine has.
var ErrMemory = errors.New("request exceeds memory")

// stftMem adds up the bytes a stft/istft/mel request will allocate, before it allocates any
// (sizes in float64: the products of absurd parameters do not overflow).
type stftMem struct {
	host, dev float64
}

// hostMemFraction is the share of the available host memory one request may plan (the Go heap may
// reach twice its live size before a collection).
const hostMemFraction = 0.5

// testHostLimit and testDevLimit replace the limits when non-zero (tests).
var testHostLimit, testDevLimit float64

// hostMemLimit returns hostMemFraction of MemAvailable (/proc/meminfo), or of free memory from
// sysinfo(2) where /proc/meminfo has no such line.
func hostMemLimit() float64 {
	if testHostLimit > 0 {
		return testHostLimit
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "MemAvailable:" {
				if kb, err := strconv.ParseFloat(fields[1], 64); err == nil {
					return hostMemFraction * kb * 1024
				}
			}
		}
	}
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err == nil {
		return hostMemFraction * float64(si.Freeram+si.Bufferram) * float64(si.Unit)
	}
	return 1 << 30
}

// devMemLimit returns the size of d's largest device-local memory heap (its largest heap if none
// is device-local).
func devMemLimit(d *gpu.Device) float64 {
	if testDevLimit > 0 {
		return testDevLimit
	}
	var local, any uint64
	for _, h := range d.Info().Heaps {
		any = max(any, h.Size)
		if h.DeviceLocal {
			local = max(local, h.Size)
		}
	}
	if local == 0 {
		local = any
	}
	return float64(local)
}

// check refuses the request when its planned bytes exceed either limit; the error names the
// sizes and the limits.
func (m stftMem) check(op string, d *gpu.Device) error {
	if h := hostMemLimit(); m.host > h {
		return fmt.Errorf("%s: %w: it needs %s of host memory, more than the %s allowed (%.0f%% of MemAvailable)", op, ErrMemory, fmtBytes(m.host), fmtBytes(h), 100*hostMemFraction)
	}
	if l := devMemLimit(d); m.dev > l {
		return fmt.Errorf("%s: %w: it needs %s of device memory, more than the device's %s heap", op, ErrMemory, fmtBytes(m.dev), fmtBytes(l))
	}
	return nil
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1<<40:
		return fmt.Sprintf("%.1f TiB", b/(1<<40))
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.0f B", b)
}

// stftScratch bounds the device scratch the ops take from stream temporaries (the iSTFT's frames,
// the mel projection's groups, one-shot tables): 32 MiB each, a few at once.
const stftScratch = 4 * 32 << 20

// f64 converts sizes for stftMem.
func f64(v ...int) float64 {
	p := 1.0
	for _, x := range v {
		p *= float64(x)
	}
	return p
}
