package gpu

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// HostMemoryFraction is the share of the host's available memory one request may plan to use
// (CheckHostMemory), and one device allocation may take on a device whose memory is the host's
// (a CPU device such as lavapipe, or an integrated GPU).
const HostMemoryFraction = 0.8

// HostMemoryAvailable returns the bytes of host memory the OS reports available now: MemAvailable
// of /proc/meminfo, else free plus buffer RAM from sysinfo; 0 when neither is known.
func HostMemoryAvailable() uint64 {
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "MemAvailable:" {
				if kb, err := strconv.ParseUint(fields[1], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		return (uint64(si.Freeram) + uint64(si.Bufferram)) * uint64(si.Unit)
	}
	return 0
}

// CheckHostMemory returns an error wrapping ErrOutOfHostMemory, naming what, the size and the
// limit, when bytes exceed HostMemoryFraction of the available host memory (nil when the
// available memory is unknown). Sizes are float64 so that a request whose size overflows an int
// is still refused.
func CheckHostMemory(what string, bytes float64) error {
	avail := HostMemoryAvailable()
	if avail == 0 {
		return nil
	}
	if lim := HostMemoryFraction * float64(avail); !(bytes <= lim) {
		return fmt.Errorf("%w: %s needs %s of host memory, more than %.0f%% of the %s available (%s)",
			ErrOutOfHostMemory, what, FormatBytes(bytes), 100*HostMemoryFraction, FormatBytes(float64(avail)), FormatBytes(lim))
	}
	return nil
}

// CheckMemory returns an error wrapping ErrOutOfDeviceMemory (naming what, the size and the
// limit) when bytes more of device memory would exceed the device's memory heap less what its
// tensors already hold, or, on a device whose memory is the host's, HostMemoryFraction of the
// available host memory.
func (d *Device) CheckMemory(what string, bytes float64) error {
	if err := d.use(); err != nil {
		return err
	}
	return d.mem.check(what, bytes)
}

// check is CheckMemory's test.
func (a *allocator) check(what string, bytes float64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.checkLocked(what, bytes)
}

// checkLocked is check with a.mu held; alloc runs it before each new memory block.
func (a *allocator) checkLocked(what string, bytes float64) error {
	var held uint64
	for _, b := range a.blocks {
		held += b.size
	}
	if free := float64(a.heapSize) - float64(held); !(bytes <= free) {
		return fmt.Errorf("%w: %s needs %s of device memory; the device's heap holds %s, %s of it in use",
			ErrOutOfDeviceMemory, what, FormatBytes(bytes), FormatBytes(float64(a.heapSize)), FormatBytes(float64(held)))
	}
	if t := a.d.info.Type; t == CPU || t == Integrated {
		avail := HostMemoryAvailable()
		if lim := HostMemoryFraction * float64(avail); avail > 0 && !(bytes <= lim) {
			return fmt.Errorf("%w: %s needs %s of device memory, which on %s is host memory: more than %.0f%% of the %s available (%s)",
				ErrOutOfDeviceMemory, what, FormatBytes(bytes), a.d.info.Name, 100*HostMemoryFraction, FormatBytes(float64(avail)), FormatBytes(lim))
		}
	}
	return nil
}

// FormatBytes writes a byte count with a binary unit and the exact count, e.g. "1.5 GiB (1610612736 bytes)".
func FormatBytes(b float64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, i := b, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f bytes", b)
	}
	return fmt.Sprintf("%.1f %s (%.0f bytes)", v, units[i], b)
}
