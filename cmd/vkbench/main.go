// Command vkbench lists Vulkan devices, verifies every vkseq op against its float64 reference,
// benchmarks the ops, and runs any op on tensors from a safetensors file.
//
//	vkbench devices [-json]
//	vkbench verify  [-op OP[,OP]] [-long] [-device SEL] [-json]
//	vkbench bench   [-op OP[,OP]] [-shape k=v,k=v] [-dtype f32|f16] [-runs N] [-quick] [-preset peers] [-strict] [-device SEL] [-json]
//	vkbench compare -peers PEERS.jsonl -bench BENCH.json [-markdown] [-json]
//	vkbench plot    -bench BENCH.json[,BENCH.json] [-peers PEERS.jsonl] -out DIR
//	vkbench run OP -in IN.safetensors -out OUT.safetensors [-p key=value ...] [-device SEL]
//	vkbench forward -model DIR -in IN.safetensors -out OUT.safetensors [-decode K] [-dtype f32|f16] [-device SEL]
//	vkbench generate -model DIR|NAME -prompt-ids 1,2,3 -max-new-tokens N [-temperature 0] [-top-p 1] [-seed S] [-json]
//	vkbench bench -model NAME|DIR [-shape B=1,T=2048] [-dtype f32|f16] [-json]
//	vkbench vocode -model DIR|vocos-mel-24khz -in a.wav -out b.wav [-device SEL]
//
// SEL is a device index or a name substring (as VKSEQ_DEVICE). Exit status: 0 on success,
// 1 when a verification fails (or, with bench -strict, a result beats its ceiling), 2 on bad usage
// or an error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/vkseq/vkseq/gpu"
)

const usage = `vkbench: Vulkan sequence-model kernels: devices, verification, benchmarks

usage:
  vkbench devices [-json]                      list every Vulkan device and its capabilities
  vkbench verify  [-op OP,...] [-long] [-json] check every op against the float64 reference
  vkbench bench   [-op OP,...] [-shape k=v,...] [-dtype f32|f16] [-runs N] [-quick] [-json]
                  [-preset peers] [-strict]    device ceilings, then GPU-timestamp medians per op
  vkbench compare -peers PEERS.jsonl -bench BENCH.json [-markdown] [-json]
                                               peer time ÷ vkseq time per peer case
  vkbench plot    -bench BENCH.json[,...] [-peers PEERS.jsonl] -out DIR
                                               PNGs: time against T per form, ratio bars per peer
  vkbench run OP -in IN.safetensors -out OUT.safetensors [-p key=value ...]
                                               run one op on tensors from a file
  vkbench forward -model DIR -in IN.safetensors -out OUT.safetensors [-decode K] [-dtype f32|f16]
                                               logits of a language model for input_ids [B, T]
  vkbench generate -model DIR|NAME -prompt-ids 1,2,3 -max-new-tokens N [-temperature 0] [-top-p 1] [-seed S] [-json]
                                               sample tokens on the device
  vkbench bench -model NAME|DIR [-shape B=1,T=2048] [-dtype f32|f16] [-json]
                                               prefill and decode tokens/s of a model (NAME: random weights
                                               in a published config: mamba-130m, mamba2-130m, gla-340m, ...)
  vkbench vocode -model DIR|vocos-mel-24khz -in a.wav -out b.wav
                                               WAV → Vocos mel features → Vocos → WAV; prints the real-time factor
common flag: -device SEL (an index or a name substring; default VKSEQ_DEVICE, else the best device)
run 'vkbench COMMAND -h' for a command's flags; 'vkbench run -h' lists the ops and their tensors.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	code := 0
	switch args[0] {
	case "devices":
		err = cmdDevices(args[1:], stdout)
	case "verify":
		code, err = cmdVerify(ctx, args[1:], stdout, stderr)
	case "bench":
		code, err = cmdBench(ctx, args[1:], stdout, stderr)
	case "compare":
		err = cmdCompare(args[1:], stdout, stderr)
	case "plot":
		err = cmdPlot(args[1:], stdout, stderr)
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "forward":
		err = cmdForward(ctx, args[1:], stdout, stderr)
	case "generate":
		err = cmdGenerate(ctx, args[1:], stdout, stderr)
	case "vocode":
		err = cmdVocode(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "vkbench: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "vkbench %s: %v\n", args[0], err)
		return 2
	}
	return code
}

// openDevice opens the selected device; validation follows VKSEQ_VALIDATE.
func openDevice(sel string) (*gpu.Device, error) {
	var opts []gpu.Option
	if sel != "" {
		opts = append(opts, gpu.WithDevice(sel))
	}
	return gpu.Open(opts...)
}

// validationErrors reports validation-layer messages collected so far as an error.
func validationErrors() error {
	msgs, n := gpu.ValidationMessages()
	if n == 0 {
		return nil
	}
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n  %v", m)
	}
	return fmt.Errorf("%w: %d message(s):%s", gpu.ErrValidation, n, b.String())
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
