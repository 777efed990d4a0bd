package gpu

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// buildLog appends one line per pipeline build (kernel name, specialization constants, seconds)
// to the file named by VKSEQ_BUILD_LOG, when set: the way to find which pipelines a program or a
// test suite spends its driver compile time on (lavapipe compiles every pipeline with LLVM, some
// for many seconds). Errors writing the log are ignored: it is a diagnostic.
var buildLog = struct {
	once sync.Once
	mu   sync.Mutex
	f    *os.File
}{}

func logBuild(spec KernelSpec, d time.Duration) {
	buildLog.once.Do(func() {
		if p := os.Getenv("VKSEQ_BUILD_LOG"); p != "" {
			buildLog.f, _ = os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		}
	})
	if buildLog.f == nil {
		return
	}
	buildLog.mu.Lock()
	defer buildLog.mu.Unlock()
	fmt.Fprintf(buildLog.f, "%.3f\t%s\t%v\n", d.Seconds(), spec.Name, spec.Spec)
}
