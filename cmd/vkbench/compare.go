package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vkseq/vkseq/report"
)

// cmdCompare runs `vkbench compare`: the peers' times (peers.sh JSON lines) against vkseq's
// (`vkbench bench -json`, best run with -preset peers) case by case.
func cmdCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", stderr)
	peersFile := fs.String("peers", "", "the peer harness's output (JSON lines)")
	benchFile := fs.String("bench", "", "a vkbench bench -json document (run with -preset peers for every case)")
	md := fs.Bool("markdown", false, "print a Markdown table")
	asJSON := fs.Bool("json", false, "print the ratios as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *peersFile == "" || *benchFile == "" {
		return fmt.Errorf("want -peers FILE.jsonl and -bench FILE.json")
	}
	rs, err := compareFiles(*peersFile, *benchFile)
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	case *md:
		return report.WriteMarkdown(stdout, rs)
	}
	return report.WriteTable(stdout, rs)
}

func compareFiles(peersFile, benchFile string) ([]report.Ratio, error) {
	doc, err := report.ReadBenchFile(benchFile)
	if err != nil {
		return nil, err
	}
	peers, err := report.ReadPeersFile(peersFile)
	if err != nil {
		return nil, err
	}
	return report.Compare(doc, peers)
}

// cmdPlot runs `vkbench plot`: PNGs of time against T (chunked and recurrent forms) from one or
// more bench documents and, with -peers, ratio bars per peer from the first document.
func cmdPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plot", stderr)
	benchFiles := fs.String("bench", "", "comma-separated vkbench bench -json documents")
	peersFile := fs.String("peers", "", "the peer harness's output (JSON lines): adds ratio bars against the first -bench document")
	out := fs.String("out", "", "directory for the PNGs (made if missing)")
	if err := parse(fs, args); err != nil {
		return err
	}
	files := splitList(*benchFiles)
	if len(files) == 0 || *out == "" {
		return fmt.Errorf("want -bench FILE.json[,FILE.json] and -out DIR")
	}
	var docs []*report.BenchDoc
	for _, f := range files {
		doc, err := report.ReadBenchFile(f)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	if err := report.EnsureDir(*out); err != nil {
		return err
	}
	written, err := report.PlotScaling(docs, *out)
	if err != nil {
		return err
	}
	if *peersFile != "" {
		peers, err := report.ReadPeersFile(*peersFile)
		if err != nil {
			return err
		}
		rs, err := report.Compare(docs[0], peers)
		if err != nil {
			return err
		}
		more, err := report.PlotRatios(rs, *out)
		if err != nil {
			return err
		}
		written = append(written, more...)
	}
	if len(written) == 0 {
		return fmt.Errorf("nothing to plot: no op has a chunked or recurrent result at two sequence lengths%s", map[bool]string{true: ", and no peer case matched", false: ""}[*peersFile != ""])
	}
	fmt.Fprintln(stdout, strings.Join(written, "\n"))
	return nil
}
