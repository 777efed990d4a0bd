// Package shaders holds vkseq's GLSL compute shaders and their SPIR-V, compiled by tools/glslc.sh
// and committed, so that users need no shader compiler. The SPIR-V is embedded in the binary.
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed spv/*.spv
var spv embed.FS

// SPIRV returns the compiled module of shaders/<name>.comp.
func SPIRV(name string) ([]byte, error) {
	b, err := spv.ReadFile("spv/" + name + ".spv")
	if err != nil {
		return nil, fmt.Errorf("shaders: no compiled shader %q (is shaders/%s.comp compiled by tools/glslc.sh?): %w", name, name, err)
	}
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
