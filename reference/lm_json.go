package reference

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DecodeConfigJSON decodes a config.json object. Python's json module writes float infinities and
// NaN as the bare tokens Infinity, -Infinity and NaN (transformers' Mamba2 configs do, in
// time_step_limit), which are not JSON; outside strings they are read here as the strings
// "Infinity", "-Infinity" and "NaN".
func DecodeConfigJSON(b []byte) (map[string]any, error) {
	var out bytes.Buffer
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out.WriteByte(c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if c == '"' {
			inStr = true
			out.WriteByte(c)
			continue
		}
		replaced := false
		for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
			if bytes.HasPrefix(b[i:], []byte(tok)) {
				out.WriteString(`"` + tok + `"`)
				i += len(tok) - 1
				replaced = true
				break
			}
		}
		if !replaced {
			out.WriteByte(c)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	return m, nil
}
