package reference

import (
	"fmt"

	"github.com/vkseq/vkseq/flaconfig"
)

// FLAConfig is the configuration of an fla language model (flaconfig.Config: config.json keys,
// defaults and derived head sizes, read the same way as models reads them).
type FLAConfig = flaconfig.Config

// ParseFLAConfig reads an fla config.json (decoded into a map) for the reference models, which
// implement every option flaconfig.Parse accepts (GLA clamp_min, DeltaNet qk_activation silu,
// relu, elu or identity and qk_norm l2 or sum included). Errors name each offending key.
func ParseFLAConfig(raw map[string]any) (FLAConfig, error) {
	c, err := flaconfig.Parse(raw)
	if err != nil {
		return c, fmt.Errorf("reference: fla config: %w", err)
	}
	return c, nil
}
