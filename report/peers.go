package report

import (
	"fmt"
	"sort"

	"github.com/vkseq/vkseq/suite"
)

// PeerCase maps one case of the peer harness (peers.sh; docs/benchmarks.md says what each peer
// times and how it was run) to the vkseq op and shape that do the same work.
type PeerCase struct {
	Case  string // the harness's case name
	Op    string // the vkseq op (vkbench bench -op)
	Shape string // vkbench bench -shape: the peer's shape in vkseq's keys, plus variant= where only one form is the same work
	What  string // what both sides compute
}

// PeerCases is the mapping, one row per peer case. `vkbench bench -preset peers` benchmarks exactly
// these (op, shape) pairs, through the same entry points a user calls; every variant the bench
// reports at a shape (chunked, recurrent, decode, ...) is compared with the peer.
var PeerCases = []PeerCase{
	{"gla", "gla", "B=1,T=512,H=32,K=64,V=64", "gated linear attention, per-key gate (ggml GATED_LINEAR_ATTN)"},
	{"gla_b4", "gla", "B=4,T=32,H=32,K=64,V=64", "gated linear attention, 4 sequences of 32"},
	{"delta", "delta_rule", "B=1,T=512,H=32,K=128,V=128,gated=1", "gated delta rule, scalar gate (ggml GATED_DELTA_NET)"},
	{"delta_h4", "delta_rule", "B=1,T=1024,H=4,K=128,V=128,gated=1", "gated delta rule, 4 heads"},
	{"delta_decode", "delta_rule", "B=1,T=1,H=32,K=128,V=128,gated=1", "gated delta rule, one token (decode step)"},
	{"ssd", "ssd", "B=1,L=512,H=48,P=64,N=128,G=1", "Mamba-2 SSD (ggml SSM_SCAN)"},
	{"ssd_decode", "ssd", "B=1,L=1,H=48,P=64,N=128,G=1", "Mamba-2 SSD, one token (decode step)"},
	{"conv", "causal_conv1d", "B=1,D=3328,L=512,W=4,init=1", "causal depthwise conv1d with a 3-sample state (ggml SSM_CONV)"},
	{"rfft_512x4096", "stft", "variant=rfft,n_fft=512,B=4096", "batched real FFT, 4096 rows of 512"},
	{"rfft_1024x2048", "stft", "variant=rfft,n_fft=1024,B=2048", "batched real FFT, 2048 rows of 1024"},
	{"rfft_2048x1024", "stft", "variant=rfft,n_fft=2048,B=1024", "batched real FFT, 1024 rows of 2048"},
	{"rfft_16x65536", "stft", "variant=rfft,n_fft=16,B=65536", "batched real FFT, 65536 rows of 16"},
	{"irfft_512x4096", "stft", "variant=irfft,n_fft=512,B=4096", "batched inverse real FFT, 4096 rows of 512"},
	{"stft_b8", "stft", "B=8,L=130816,n_fft=512,hop_length=256", "STFT, Hann, center, 8 × 130816 samples (4096 frames)"},
	{"stft_16x160000", "stft", "B=16,L=160000,n_fft=512,hop_length=256", "STFT, Hann, center, 16 × 160000 samples"},
	{"istft_16x160000", "istft", "B=16,L=160000,n_fft=512,hop_length=256", "iSTFT of that spectrogram"},
}

// PeerCaseByName finds a case of PeerCases.
func PeerCaseByName(name string) (PeerCase, bool) {
	for _, c := range PeerCases {
		if c.Case == name {
			return c, true
		}
	}
	return PeerCase{}, false
}

// Matches reports whether r is vkseq's result for c: the same op, dtype f32, every shape key of
// c.Shape equal, and the variant equal where c.Shape names one.
func (c PeerCase) Matches(r suite.Result) (bool, error) {
	p, err := suite.ParseParams(c.Shape)
	if err != nil {
		return false, fmt.Errorf("peer case %s: %w", c.Case, err)
	}
	if r.Op != c.Op || r.DType != "f32" || r.Host {
		return false, nil
	}
	for k := range p {
		if k == "variant" {
			if r.Variant != p[k] {
				return false, nil
			}
			continue
		}
		v, err := p.Int(k, 0)
		if err != nil {
			return false, fmt.Errorf("peer case %s: %w", c.Case, err)
		}
		if got, ok := r.Shape[k]; !ok || got != v {
			return false, nil
		}
	}
	return true, nil
}

// Ratio is one peer against one vkseq result at the same case.
type Ratio struct {
	Case    string  `json:"case"`
	Peer    string  `json:"peer"`
	PeerMS  float64 `json:"peer_ms"` // 0 when the peer did not run (PeerErr) or vkseq has no result
	Op      string  `json:"op"`
	Variant string  `json:"variant"` // empty when the bench document has no result for the case
	OursMS  float64 `json:"ours_ms"`
	Ratio   float64 `json:"ratio"` // peer median ÷ vkseq median: above 1, vkseq is faster; 0 when either is missing
	PeerErr string  `json:"peer_error,omitempty"`
	Shape   string  `json:"shape"` // vkseq's shape, as -shape takes it
}

// Compare matches every peer line to vkseq's results at its case (one Ratio per peer and vkseq
// variant) and returns them in PeerCases order, peers by name. Peer cases PeerCases does not know
// are returned with an empty Op; cases without a vkseq result get one Ratio with no Variant.
func Compare(doc *BenchDoc, peers []PeerResult) ([]Ratio, error) {
	order := map[string]int{}
	for i, c := range PeerCases {
		order[c.Case] = i
	}
	var out []Ratio
	for _, p := range peers {
		base := Ratio{Case: p.Case, Peer: p.Peer, PeerErr: p.Error}
		if p.MedianMS != nil {
			base.PeerMS = *p.MedianMS
		} else if base.PeerErr == "" {
			base.PeerErr = "no median_ms"
		}
		c, ok := PeerCaseByName(p.Case)
		if !ok {
			out = append(out, base)
			continue
		}
		base.Op, base.Shape = c.Op, c.Shape
		found := false
		for _, r := range doc.Results {
			m, err := c.Matches(r)
			if err != nil {
				return nil, err
			}
			if !m {
				continue
			}
			found = true
			x := base
			x.Variant, x.OursMS, x.Shape = r.Variant, float64(r.MedianNS)/1e6, suite.ShapeString(r.Shape)
			if x.PeerMS > 0 && r.MedianNS > 0 {
				x.Ratio = x.PeerMS / x.OursMS
			}
			out = append(out, x)
		}
		if !found {
			out = append(out, base)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, iok := order[out[i].Case]
		oj, jok := order[out[j].Case]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		if out[i].Case != out[j].Case {
			return out[i].Case < out[j].Case
		}
		return out[i].Peer < out[j].Peer
	})
	return out, nil
}
