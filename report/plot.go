package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vkseq/vkseq/suite"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// seqKeys are the shape keys that hold the sequence length (T for attention-like ops, L for scans).
var seqKeys = []string{"T", "L"}

// scalingGroup is one op at one shape but the sequence length: time per variant against T.
type scalingGroup struct {
	op, dtype, rest, key string
	points               map[string]plotter.XYs // variant → (T, ms)
}

// PlotScaling writes, for every op and shape (all but T or L equal) that has a chunked or a
// recurrent result at two or more sequence lengths, a log-log PNG of median time against T with one
// line per form, into dir as scaling_<op>_<shape>.png. It returns the files written.
func PlotScaling(docs []*BenchDoc, dir string) ([]string, error) {
	groups := map[string]*scalingGroup{}
	for _, doc := range docs {
		for _, r := range doc.Results {
			if r.Host || r.MedianNS <= 0 || (r.Variant != "chunked" && r.Variant != "recurrent") {
				continue
			}
			key := ""
			for _, k := range seqKeys {
				if _, ok := r.Shape[k]; ok {
					key = k
					break
				}
			}
			if key == "" {
				continue
			}
			rest := map[string]int{}
			for k, v := range r.Shape {
				if k != key {
					rest[k] = v
				}
			}
			id := r.Op + "|" + r.DType + "|" + suite.ShapeString(rest)
			g := groups[id]
			if g == nil {
				g = &scalingGroup{op: r.Op, dtype: r.DType, rest: suite.ShapeString(rest), key: key, points: map[string]plotter.XYs{}}
				groups[id] = g
			}
			g.points[r.Variant] = append(g.points[r.Variant], plotter.XY{X: float64(r.Shape[key]), Y: float64(r.MedianNS) / 1e6})
		}
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var files []string
	for _, id := range ids {
		g := groups[id]
		variants := make([]string, 0, len(g.points))
		for v, pts := range g.points {
			if distinctX(pts) >= 2 {
				variants = append(variants, v)
			}
		}
		if len(variants) == 0 {
			continue
		}
		sort.Strings(variants)
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s %s (%s): time against %s", g.op, g.rest, g.dtype, g.key)
		p.X.Label.Text = g.key + " (tokens)"
		p.Y.Label.Text = "median GPU time (ms)"
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = ticks125{}, ticks125{}
		p.Legend.Top, p.Legend.Left = true, true
		p.Add(plotter.NewGrid())
		for i, v := range variants {
			pts := g.points[v]
			sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return files, err
			}
			l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
			s.Shape = plotutil.Shape(i)
			p.Add(l, s)
			p.Legend.Add(v, l, s)
		}
		name := filepath.Join(dir, fmt.Sprintf("scaling_%s_%s.png", g.op, fileSafe(g.rest+"_"+g.dtype)))
		if err := p.Save(6*vg.Inch, 4*vg.Inch, name); err != nil {
			return files, fmt.Errorf("writing %s: %w", name, err)
		}
		files = append(files, name)
	}
	return files, nil
}

// PlotRatios writes one PNG per peer into dir (ratio_<peer>.png): horizontal bars of peer time ÷
// vkseq time for every case and vkseq variant that both measured, with a line at 1 (right of it,
// vkseq is faster). It returns the files written.
func PlotRatios(rs []Ratio, dir string) ([]string, error) {
	byPeer := map[string][]Ratio{}
	var peers []string
	for _, r := range rs {
		if r.Ratio <= 0 {
			continue
		}
		if _, ok := byPeer[r.Peer]; !ok {
			peers = append(peers, r.Peer)
		}
		byPeer[r.Peer] = append(byPeer[r.Peer], r)
	}
	sort.Strings(peers)
	var files []string
	for _, peer := range peers {
		list := byPeer[peer]
		vals := make(plotter.Values, len(list))
		labels := make([]string, len(list))
		top := 1.0
		for i, r := range list {
			// Bars from the top down in table order.
			j := len(list) - 1 - i
			vals[j] = r.Ratio
			labels[j] = r.Case + " " + r.Variant
			top = max(top, r.Ratio)
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s time ÷ vkseq time (> 1: vkseq faster)", peer)
		p.X.Label.Text = "ratio"
		bars, err := plotter.NewBarChart(vals, vg.Points(12))
		if err != nil {
			return files, err
		}
		bars.Horizontal = true
		bars.Color = color.RGBA{R: 60, G: 110, B: 180, A: 255}
		p.Add(plotter.NewGrid(), bars)
		one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(len(list)) - 0.5}})
		if err != nil {
			return files, err
		}
		one.Color = color.RGBA{R: 200, A: 255}
		one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(one)
		// Each bar's value beside it: a linear axis makes the small ratios hard to read.
		var xys plotter.XYs
		var texts []string
		for i, v := range vals {
			xys = append(xys, plotter.XY{X: v, Y: float64(i)})
			texts = append(texts, fmt.Sprintf(" %.3g×", v))
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: texts})
		if err != nil {
			return files, err
		}
		for i := range lab.TextStyle {
			lab.TextStyle[i].YAlign = -0.5 // centred on the bar
		}
		p.Add(lab)
		p.NominalY(labels...)
		p.X.Min, p.X.Max = 0, top*1.15
		h := vg.Length(1.2*vg.Inch) + vg.Length(len(list))*vg.Points(18)
		name := filepath.Join(dir, "ratio_"+fileSafe(peer)+".png")
		if err := p.Save(7*vg.Inch, h, name); err != nil {
			return files, fmt.Errorf("writing %s: %w", name, err)
		}
		files = append(files, name)
	}
	return files, nil
}

// ticks125 marks a log axis at 1, 2 and 5 times each power of ten.
type ticks125 struct{}

// Ticks implements plot.Ticker.
func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	if lo <= 0 || hi < lo {
		return ts
	}
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= lo && v <= hi {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 4, 64)})
			}
		}
	}
	return ts
}

// EnsureDir makes dir (and its parents) when missing.
func EnsureDir(dir string) error { return os.MkdirAll(dir, 0o755) }

func distinctX(pts plotter.XYs) int {
	seen := map[float64]bool{}
	for _, p := range pts {
		seen[p.X] = true
	}
	return len(seen)
}

// fileSafe turns s into a file-name part: letters, digits, '-', '=' and '_' kept, others '_'.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '=':
			return r
		}
		return '_'
	}, s)
}
