// Package report reads what `vkbench bench -json` and the peer harness print, matches the peers'
// cases to vkseq's results at the same shapes, and tabulates and plots the ratios.
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vkseq/vkseq/bench"
	"github.com/vkseq/vkseq/suite"
)

// BenchDoc is the JSON document of `vkbench bench -json` (docs/design.md §11).
type BenchDoc struct {
	Schema   int            `json:"schema"`
	Device   Device         `json:"device"`
	Ceilings bench.Ceilings `json:"ceilings"`
	Results  []suite.Result `json:"results"`
}

// Device names the device a BenchDoc was measured on.
type Device struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
	Type   string `json:"type"`
}

// PeerResult is one line of the peer harness's output (one case, one peer).
type PeerResult struct {
	Case     string   `json:"case"`
	Peer     string   `json:"peer"`
	Op       string   `json:"op"`
	Shape    string   `json:"shape"`
	MedianMS *float64 `json:"median_ms"` // nil when the peer could not run (Error says why)
	MinMS    *float64 `json:"min_ms"`
	Runs     int      `json:"runs"`
	Error    string   `json:"error,omitempty"`
}

// ReadBench reads a `vkbench bench -json` document; it wants schema 1.
func ReadBench(r io.Reader) (*BenchDoc, error) {
	var doc BenchDoc
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading a vkbench bench -json document: %w", err)
	}
	if doc.Schema != 1 {
		return nil, fmt.Errorf("vkbench bench document of schema %d, want 1", doc.Schema)
	}
	return &doc, nil
}

// ReadPeers reads the peer harness's JSON lines (blank lines and lines that are not JSON objects,
// such as a load average printed among them, are skipped); each line needs case and peer.
func ReadPeers(r io.Reader) ([]PeerResult, error) {
	var out []PeerResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var p PeerResult
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			return nil, fmt.Errorf("peers line %d: %w", n, err)
		}
		if p.Case == "" || p.Peer == "" {
			return nil, fmt.Errorf("peers line %d: want \"case\" and \"peer\" fields: %s", n, line)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading peers: %w", err)
	}
	return out, nil
}

// ReadBenchFile and ReadPeersFile read the files at path.
func ReadBenchFile(path string) (*BenchDoc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := ReadBench(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// ReadPeersFile reads a peers JSONL file.
func ReadPeersFile(path string) ([]PeerResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps, err := ReadPeers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}
