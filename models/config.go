package models

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/vkseq/vkseq/reference"
)

// Sentinel errors. Every error of this package about bad input wraps one of them (errors.Is).
var (
	// ErrConfig: config.json is missing or malformed, a key has the wrong type, a value is out of
	// range, a configuration is not supported, or the config contradicts the weights.
	ErrConfig = errors.New("models: bad or unsupported config")
	// ErrWeights: a tensor is missing, has the wrong shape or dtype, is left over unused, or a
	// weights file is malformed or truncated (the tensorio sentinel is wrapped as well).
	ErrWeights = errors.New("models: bad weights")
	// ErrUnknownModel: no loader is registered for the model_type (or no published NAME).
	ErrUnknownModel = errors.New("models: unknown model type")
	// ErrInput: bad call arguments (an id outside the vocabulary, a batch that does not match the
	// cache, a length larger than T, ...).
	ErrInput = errors.New("models: invalid input")
)

// Config is a parsed config.json: the raw key/value object, with typed accessors that accept the
// several spellings upstream projects use for one setting (mamba_ssm's d_model, transformers'
// hidden_size, ...). Accessors return the value of the first key present, the default when none
// is, and an error naming the key when a value has the wrong type.
type Config struct {
	// Raw is the decoded JSON object (numbers as float64).
	Raw map[string]any
	// Source names where the config came from (a path, or "published mamba-130m"), for messages.
	Source string
}

// ReadConfig reads and decodes dir/config.json.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	raw, err := reference.DecodeConfigJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, path, err)
	}
	return &Config{Raw: raw, Source: path}, nil
}

// NewConfig wraps raw (which it does not copy) as a Config from source.
func NewConfig(source string, raw map[string]any) *Config {
	if raw == nil {
		raw = map[string]any{}
	}
	return &Config{Raw: raw, Source: source}
}

// ModelType is the "model_type" string; for a mamba_ssm config, which has none, "mamba" or
// "mamba2" (from ssm_cfg.layer); "" otherwise.
func (c *Config) ModelType() string {
	return reference.MambaModelType(c.Raw)
}

// Has reports whether key is present and not null.
func (c *Config) Has(key string) bool {
	v, ok := c.Raw[key]
	return ok && v != nil
}

func (c *Config) first(keys []string) (string, any, bool) {
	for _, k := range keys {
		if v, ok := c.Raw[k]; ok && v != nil {
			return k, v, true
		}
	}
	return "", nil, false
}

// Int returns the integer value of the first present key of keys, def if none is present.
func (c *Config) Int(def int, keys ...string) (int, error) {
	k, v, ok := c.first(keys)
	if !ok {
		return def, nil
	}
	f, isNum := v.(float64)
	if !isNum || f != math.Trunc(f) || math.Abs(f) > 1<<40 {
		return 0, fmt.Errorf("%w: %s: %q is %v, want an integer", ErrConfig, c.Source, k, v)
	}
	return int(f), nil
}

// Float returns the number value of the first present key of keys, def if none is present.
func (c *Config) Float(def float64, keys ...string) (float64, error) {
	k, v, ok := c.first(keys)
	if !ok {
		return def, nil
	}
	f, isNum := v.(float64)
	if !isNum {
		return 0, fmt.Errorf("%w: %s: %q is %v, want a number", ErrConfig, c.Source, k, v)
	}
	return f, nil
}

// Bool returns the boolean value of the first present key of keys, def if none is present.
func (c *Config) Bool(def bool, keys ...string) (bool, error) {
	k, v, ok := c.first(keys)
	if !ok {
		return def, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, fmt.Errorf("%w: %s: %q is %v, want true or false", ErrConfig, c.Source, k, v)
	}
	return b, nil
}

// String returns the string value of the first present key of keys, def if none is present.
func (c *Config) String(def string, keys ...string) (string, error) {
	k, v, ok := c.first(keys)
	if !ok {
		return def, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", fmt.Errorf("%w: %s: %q is %v, want a string", ErrConfig, c.Source, k, v)
	}
	return s, nil
}

// Sub returns the nested object under key (for example mamba_ssm's "ssm_cfg") as a Config; an
// absent or null key gives an empty Config.
func (c *Config) Sub(key string) (*Config, error) {
	v, ok := c.Raw[key]
	if !ok || v == nil {
		return NewConfig(c.Source+"."+key, nil), nil
	}
	m, isObj := v.(map[string]any)
	if !isObj {
		return nil, fmt.Errorf("%w: %s: %q is %v, want an object", ErrConfig, c.Source, key, v)
	}
	return NewConfig(c.Source+"."+key, m), nil
}

// Refuse returns an error naming every key of keys that is present with a value other than
// "neutral" values (nil, false, 0, "", empty list or object): settings that change the
// computation and that a loader does not implement (e.g. fla's hybrid "attn" layers).
func (c *Config) Refuse(keys ...string) error {
	var bad []string
	for _, k := range keys {
		v, ok := c.Raw[k]
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case bool:
			if !x {
				continue
			}
		case float64:
			if x == 0 {
				continue
			}
		case string:
			if x == "" {
				continue
			}
		case []any:
			if len(x) == 0 {
				continue
			}
		case map[string]any:
			if len(x) == 0 {
				continue
			}
		}
		bad = append(bad, fmt.Sprintf("%s=%v", k, v))
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%w: %s: unsupported setting %v", ErrConfig, c.Source, bad)
}
