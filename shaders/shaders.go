// Package shaders holds vkseq's GLSL compute shaders and their SPIR-V, compiled by tools/glslc.sh
// and committed, so that users need no shader compiler. The SPIR-V is embedded in the binary.
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
)

//go:embed spv/*.spv
var spv embed.FS

// modules caches each module read from spv, so that SPIRV copies it once per process, not per call.
var modules struct {
	sync.RWMutex
	m map[string][]byte
}

// SPIRV returns the compiled module of shaders/<name>.comp. The bytes are shared by every caller:
// they must not be modified.
func SPIRV(name string) ([]byte, error) {
	modules.RLock()
	b, ok := modules.m[name]
	modules.RUnlock()
	if ok {
		return b, nil
	}
	b, err := spv.ReadFile("spv/" + name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shaders: no compiled shader %q (is shaders/%s.comp compiled by tools/glslc.sh?): %w", name, name, err)
	}
	modules.Lock()
	if modules.m == nil {
		modules.m = map[string][]byte{}
	}
	modules.m[name] = b
	modules.Unlock()
	return b, nil
}

// Names lists the embedded shaders.
func Names() []string {
	entries, _ := fs.ReadDir(spv, "spv") // the embedded directory always exists
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".spv"))
	}
	sort.Strings(out)
	return out
}
