package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vkseq/vkseq/suite"
)

func readTestdata(t *testing.T) (*BenchDoc, []PeerResult) {
	t.Helper()
	doc, err := ReadBenchFile("testdata/bench.json")
	if err != nil {
		t.Fatal(err)
	}
	peers, err := ReadPeersFile("testdata/peers.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return doc, peers
}

// TestPeerCasesKnown checks the mapping: unique cases, registered ops, shapes that parse.
func TestPeerCasesKnown(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range PeerCases {
		if seen[c.Case] {
			t.Errorf("case %s listed twice", c.Case)
		}
		seen[c.Case] = true
		if _, ok := suite.Lookup(c.Op); !ok {
			t.Errorf("case %s: op %q not registered", c.Case, c.Op)
		}
		if _, err := suite.ParseParams(c.Shape); err != nil || c.Shape == "" {
			t.Errorf("case %s: shape %q: %v", c.Case, c.Shape, err)
		}
	}
	for _, want := range []string{"gla", "gla_b4", "delta", "delta_h4", "delta_decode", "ssd", "ssd_decode", "conv",
		"rfft_512x4096", "rfft_1024x2048", "rfft_2048x1024", "rfft_16x65536", "irfft_512x4096", "stft_b8"} {
		if !seen[want] {
			t.Errorf("peer case %s not mapped", want)
		}
	}
}

func TestCompare(t *testing.T) {
	doc, peers := readTestdata(t)
	if len(peers) != 7 {
		t.Fatalf("%d peer lines read, want 7 (the load-average line and the blank line skipped)", len(peers))
	}
	rs, err := Compare(doc, peers)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ c, peer, variant string }
	got := map[key]Ratio{}
	for _, r := range rs {
		got[key{r.Case, r.Peer, r.Variant}] = r
	}
	for _, w := range []struct {
		k     key
		ratio float64
	}{
		{key{"gla", "ggml-vulkan", "chunked"}, 6},    // 600 ms ÷ 100 ms
		{key{"gla", "ggml-vulkan", "recurrent"}, 12}, // 600 ÷ 50
		{key{"gla", "ggml-cpu", "chunked"}, 0.05},
		{key{"delta_decode", "ggml-vulkan", "decode"}, 6},
		{key{"rfft_512x4096", "vkfft", "rfft"}, 0.75},
		{key{"rfft_2048x1024", "vkfft", ""}, 0}, // no vkseq result at that shape
		{key{"ssd", "ggml-vulkan", ""}, 0},      // the peer failed (and no vkseq result)
		{key{"newcase", "torch", ""}, 0},        // a case the mapping does not know
	} {
		r, ok := got[w.k]
		if !ok {
			t.Errorf("%v: no row", w.k)
			continue
		}
		if math.Abs(r.Ratio-w.ratio) > 1e-9*w.ratio {
			t.Errorf("%v: ratio %g, want %g", w.k, r.Ratio, w.ratio)
		}
	}
	if len(rs) != 9 {
		t.Errorf("%d rows, want 9: %+v", len(rs), rs)
	}
	// f16 results and the host (gonum) result never match a peer case.
	for _, r := range rs {
		if r.Case == "gla" && r.OursMS == 10 {
			t.Errorf("an f16 result matched: %+v", r)
		}
	}
	if rs[0].Case != "gla" || rs[len(rs)-1].Case != "newcase" {
		t.Errorf("rows not in PeerCases order: first %s, last %s", rs[0].Case, rs[len(rs)-1].Case)
	}
	if r := got[key{"ssd", "ggml-vulkan", ""}]; r.PeerErr != "device lost" {
		t.Errorf("ssd peer error %q, want device lost", r.PeerErr)
	}
	var tab, md bytes.Buffer
	if err := WriteTable(&tab, rs); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, rs); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"12×", "0.75×", "error: device lost", "(case not mapped)", "(no vkseq result at variant=rfft,n_fft=2048,B=1024)"} {
		if !strings.Contains(tab.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, tab.String())
		}
	}
	if !strings.Contains(md.String(), "| gla | ggml-vulkan | 600 | gla | recurrent | 50 | **12×** |") {
		t.Errorf("markdown:\n%s", md.String())
	}
}

func TestReadErrors(t *testing.T) {
	if _, err := ReadBench(strings.NewReader(`{"schema": 2}`)); err == nil || !strings.Contains(err.Error(), "schema 2") {
		t.Errorf("schema 2: %v", err)
	}
	if _, err := ReadBench(strings.NewReader(`{`)); err == nil {
		t.Error("truncated document read without error")
	}
	if _, err := ReadPeers(strings.NewReader("{\"peer\":\"x\"}\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("line without case: %v", err)
	}
	if _, err := ReadPeers(strings.NewReader("{\"case\":\n")); err == nil {
		t.Error("broken line read without error")
	}
}

// TestPlots writes the scaling and ratio PNGs of the synthetic files and decodes each.
func TestPlots(t *testing.T) {
	doc, peers := readTestdata(t)
	rs, err := Compare(doc, peers)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	scaling, err := PlotScaling([]*BenchDoc{doc}, dir)
	if err != nil {
		t.Fatal(err)
	}
	// gla f32 at two T has both forms; the f16 and the other ops have one T only.
	if len(scaling) != 1 || !strings.Contains(scaling[0], "scaling_gla_") {
		t.Fatalf("scaling plots %v, want one for gla", scaling)
	}
	ratios, err := PlotRatios(rs, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ratio_ggml-cpu.png", "ratio_ggml-vulkan.png", "ratio_vkfft.png"}
	if len(ratios) != len(want) {
		t.Fatalf("ratio plots %v, want %v", ratios, want)
	}
	for i, f := range ratios {
		if filepath.Base(f) != want[i] {
			t.Errorf("ratio plot %s, want %s", f, want[i])
		}
	}
	for _, f := range append(scaling, ratios...) {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if b := img.Bounds(); b.Dx() < 100 || b.Dy() < 100 {
			t.Errorf("%s: %v pixels", f, b)
		}
	}
}
