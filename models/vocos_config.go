package models

import (
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// ErrVocosCheckpoint is wrapped by every error about a Vocos checkpoint folder: its config.yaml,
// a missing, mis-shaped or inconsistent tensor, a truncated model.safetensors.
var ErrVocosCheckpoint = errors.New("models: bad vocos checkpoint")

// VocosConfig is a Vocos vocoder's configuration, read from the class_path / init_args sections
// of its config.yaml (feature_extractor, backbone, head) as gemelo-ai/vocos writes them.
type VocosConfig struct {
	SampleRate      int    // feature_extractor.init_args.sample_rate, Hz
	NMels           int    // feature_extractor n_mels = backbone input_channels
	NFFT            int    // n_fft of the features and the head's iSTFT (win_length = n_fft)
	HopLength       int    // hop_length of the features and the head
	FeaturePadding  string // feature_extractor padding: "center" or "same"
	Padding         string // head padding: "center" (torch.istft) or "same" (Vocos's ISTFT)
	Dim             int    // backbone dim
	IntermediateDim int    // backbone intermediate_dim
	NumLayers       int    // backbone num_layers (ConvNeXt blocks)
}

type vocosSection struct {
	ClassPath string         `yaml:"class_path"`
	InitArgs  map[string]any `yaml:"init_args"`
}

type vocosYAML struct {
	FeatureExtractor *vocosSection `yaml:"feature_extractor"`
	Backbone         *vocosSection `yaml:"backbone"`
	Head             *vocosSection `yaml:"head"`
}

func vocosErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrVocosCheckpoint, fmt.Sprintf(format, args...))
}

// LoadVocosConfig reads a Vocos config.yaml. Only MelSpectrogramFeatures, VocosBackbone (without
// adanorm) and ISTFTHead are supported; anything else is an error naming the key.
func LoadVocosConfig(path string) (VocosConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return VocosConfig{}, fmt.Errorf("%w: %w", ErrVocosCheckpoint, err)
	}
	return ParseVocosConfig(data)
}

// ParseVocosConfig parses the text of a Vocos config.yaml (see LoadVocosConfig).
func ParseVocosConfig(data []byte) (VocosConfig, error) {
	var y vocosYAML
	if err := yaml.Unmarshal(data, &y); err != nil {
		return VocosConfig{}, vocosErr("config.yaml: %v", err)
	}
	if y.FeatureExtractor == nil || y.Backbone == nil || y.Head == nil {
		return VocosConfig{}, vocosErr("config.yaml: want sections feature_extractor, backbone and head")
	}
	check := func(name string, s *vocosSection, class string) error {
		if s.ClassPath != class {
			return vocosErr("config.yaml: %s.class_path = %q, want %q", name, s.ClassPath, class)
		}
		return nil
	}
	if err := check("feature_extractor", y.FeatureExtractor, "vocos.feature_extractors.MelSpectrogramFeatures"); err != nil {
		return VocosConfig{}, err
	}
	if err := check("backbone", y.Backbone, "vocos.models.VocosBackbone"); err != nil {
		return VocosConfig{}, err
	}
	if err := check("head", y.Head, "vocos.heads.ISTFTHead"); err != nil {
		return VocosConfig{}, err
	}
	var firstErr error
	intArg := func(sec string, s *vocosSection, key string, def int) int {
		v, ok := s.InitArgs[key]
		if !ok || v == nil {
			if def < 0 && firstErr == nil {
				firstErr = vocosErr("config.yaml: %s.init_args.%s is missing", sec, key)
			}
			return def
		}
		n, ok := v.(int)
		if !ok || n < 1 {
			if firstErr == nil {
				firstErr = vocosErr("config.yaml: %s.init_args.%s = %v, want an integer ≥ 1", sec, key, v)
			}
			return 0
		}
		return n
	}
	strArg := func(sec string, s *vocosSection, key, def string) string {
		v, ok := s.InitArgs[key]
		if !ok {
			return def
		}
		str, ok := v.(string)
		if !ok || (str != "center" && str != "same") {
			if firstErr == nil {
				firstErr = vocosErr("config.yaml: %s.init_args.%s = %v, want center or same", sec, key, v)
			}
		}
		return str
	}
	fe, bb, hd := y.FeatureExtractor, y.Backbone, y.Head
	c := VocosConfig{
		SampleRate:      intArg("feature_extractor", fe, "sample_rate", 24000),
		NFFT:            intArg("feature_extractor", fe, "n_fft", 1024),
		HopLength:       intArg("feature_extractor", fe, "hop_length", 256),
		NMels:           intArg("feature_extractor", fe, "n_mels", 100),
		FeaturePadding:  strArg("feature_extractor", fe, "padding", "center"),
		Dim:             intArg("backbone", bb, "dim", -1),
		IntermediateDim: intArg("backbone", bb, "intermediate_dim", -1),
		NumLayers:       intArg("backbone", bb, "num_layers", -1),
	}
	inCh := intArg("backbone", bb, "input_channels", -1)
	hDim := intArg("head", hd, "dim", -1)
	hFFT := intArg("head", hd, "n_fft", -1)
	hHop := intArg("head", hd, "hop_length", -1)
	hPad := strArg("head", hd, "padding", "same")
	c.Padding = hPad
	if firstErr != nil {
		return VocosConfig{}, firstErr
	}
	if v, ok := bb.InitArgs["adanorm_num_embeddings"]; ok && v != nil {
		return VocosConfig{}, vocosErr("config.yaml: backbone.init_args.adanorm_num_embeddings = %v: AdaLayerNorm (the EnCodec variant) is not supported", v)
	}
	switch {
	case inCh != c.NMels:
		return VocosConfig{}, vocosErr("config.yaml: backbone.init_args.input_channels = %d, want feature_extractor n_mels = %d", inCh, c.NMels)
	case hDim != c.Dim:
		return VocosConfig{}, vocosErr("config.yaml: head.init_args.dim = %d, want backbone dim = %d", hDim, c.Dim)
	case hFFT != c.NFFT || hHop != c.HopLength:
		return VocosConfig{}, vocosErr("config.yaml: head n_fft %d / hop_length %d differ from the feature extractor's %d / %d (unsupported)", hFFT, hHop, c.NFFT, c.HopLength)
	case c.HopLength > c.NFFT/2 || c.NFFT%2 != 0:
		return VocosConfig{}, vocosErr("config.yaml: n_fft %d and hop_length %d: want an even n_fft and hop ≤ n_fft/2 (the Hann envelope is nonzero everywhere only then)", c.NFFT, c.HopLength)
	}
	return c, nil
}

// yamlText renders c as a config.yaml that ParseVocosConfig reads back (for vkbench's
// random-weight models and tests).
func (c VocosConfig) yamlText() string {
	return fmt.Sprintf(`feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args:
    sample_rate: %d
    n_fft: %d
    hop_length: %d
    n_mels: %d
    padding: %s
backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: %d
    dim: %d
    intermediate_dim: %d
    num_layers: %d
head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: %d
    n_fft: %d
    hop_length: %d
    padding: %s
`, c.SampleRate, c.NFFT, c.HopLength, c.NMels, c.FeaturePadding, c.NMels, c.Dim, c.IntermediateDim, c.NumLayers, c.Dim, c.NFFT, c.HopLength, c.Padding)
}

// VocosMel24kHz is the configuration of charactr/vocos-mel-24khz as vkbench benchmarks it
// (random weights): 100 mels, dim 512, intermediate 1536, 8 layers, n_fft 1024, hop 256,
// padding "same" (head and features), 24 kHz.
var VocosMel24kHz = VocosConfig{SampleRate: 24000, NMels: 100, NFFT: 1024, HopLength: 256, FeaturePadding: "same", Padding: "same", Dim: 512, IntermediateDim: 1536, NumLayers: 8}
