package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vkseq/vkseq/gpu"
)

var errUsage = errors.New("usage")

func newFlags(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("vkbench "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return errUsage
	}
	return nil
}

func cmdDevices(args []string, stdout io.Writer) error {
	fs := newFlags("devices", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	devs, err := gpu.Devices()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(devs)
	}
	printDevices(stdout, devs)
	return nil
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func mib(b uint64) string { return fmt.Sprintf("%d MiB", b>>20) }

func printDevices(w io.Writer, devs []gpu.DeviceInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tname\ttype\tdriver\tapi\tsubgroup\tf16 storage\tf16 math\tshared mem\tmax wg\tmax bind\theaps\tusable")
	for _, d := range devs {
		var heaps []string
		for _, h := range d.Heaps {
			s := mib(h.Size)
			if h.DeviceLocal {
				s += " local"
			}
			heaps = append(heaps, s)
		}
		usable := "yes"
		if !d.Usable {
			usable = "no: " + d.Reason
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d (%s)\t%s\t%s\t%d KiB\t%d\t%s\t%s\t%s\n",
			d.Index, d.Name, d.Type, d.Driver, d.APIVersion, d.SubgroupSize, strings.Join(d.SubgroupOps, ","),
			yes(d.Float16Storage), yes(d.Float16Arithmetic), d.SharedMemory>>10, d.MaxWorkgroupInvocations,
			mib(d.MaxStorageBufferRange), strings.Join(heaps, "; "), usable)
	}
	tw.Flush()
}
