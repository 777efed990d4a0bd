package report

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable writes ratios as an aligned text table: case, peer, peer ms, vkseq op and variant,
// vkseq ms, and peer ÷ vkseq (above 1: vkseq is faster).
func WriteTable(w io.Writer, rs []Ratio) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "case\tpeer\tpeer ms\tvkseq op\tvariant\tvkseq ms\tpeer ÷ vkseq\t")
	for _, r := range rs {
		peer, ours, ratio := "-", "-", "-"
		if r.PeerMS > 0 {
			peer = fmt.Sprintf("%.4g", r.PeerMS)
		} else if r.PeerErr != "" {
			peer = "error: " + r.PeerErr
		}
		variant := r.Variant
		switch {
		case r.Op == "":
			variant = "(case not mapped)"
		case r.Variant == "":
			variant = "(no vkseq result at " + r.Shape + ")"
		default:
			ours = fmt.Sprintf("%.4g", r.OursMS)
		}
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.3g×", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Case, r.Peer, peer, r.Op, variant, ours, ratio)
	}
	return tw.Flush()
}

// WriteMarkdown writes ratios as a Markdown table (for docs/benchmarks.md).
func WriteMarkdown(w io.Writer, rs []Ratio) error {
	if _, err := fmt.Fprintln(w, "| case | peer | peer ms | vkseq op | variant | vkseq ms | peer ÷ vkseq |\n| --- | --- | --- | --- | --- | --- | --- |"); err != nil {
		return err
	}
	for _, r := range rs {
		peer, ours, ratio := "–", "–", "–"
		if r.PeerMS > 0 {
			peer = fmt.Sprintf("%.4g", r.PeerMS)
		} else if r.PeerErr != "" {
			peer = "error"
		}
		if r.Variant != "" {
			ours = fmt.Sprintf("%.4g", r.OursMS)
		}
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("**%.3g×**", r.Ratio)
		}
		if _, err := fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Case, r.Peer, peer, r.Op, r.Variant, ours, ratio); err != nil {
			return err
		}
	}
	return nil
}
