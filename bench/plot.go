package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
)

// The plot: per headline figure, each contender's median per-round ratio
// to raw as a bar with its min–max range as a whisker; the dashed line at
// 1× is raw, on a log scale. Two panels, "higher is better" and "lower is better", so a
// reader never has to flip a bar in their head. Written with fmt and
// xml.EscapeText: no plotting dependency.

var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#98df8a", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"}

const (
	plotGroupW   = 104.0
	plotPanelH   = 250.0
	plotTop      = 72.0
	plotLeft     = 60.0
	plotLabelH   = 46.0
	plotPanelGap = 40.0
	plotMaxY     = 64.0 // ratios beyond these are clipped and labelled
	plotMinY     = 1.0 / 64
)

type plotGroup struct {
	label1, label2 string
	bars           []plotBar
}

type plotBar struct {
	contender     int
	med, min, max float64
}

// plotGroups collects the headline figures of the contenders read against
// base (raw, or bare Noise), as ratios to base; dir is +1 for higher-is-
// better figures only, -1 for lower-is-better only, 0 for both (each label
// then carries its arrow).
func (r *Report) plotGroups(base string, dir int) []plotGroup {
	var gs []plotGroup
	for i := range r.Summary {
		ms := &r.Summary[i]
		if !ms.Headline || (dir > 0 && !ms.Higher) || (dir < 0 && ms.Higher) {
			continue
		}
		label := ms.Label
		if dir == 0 {
			label += " " + arrow(ms.Metric)
		}
		g := plotGroup{label1: ms.Scenario, label2: label}
		for ci, c := range r.Contenders {
			if c.Name == base || c.Base != base {
				continue
			}
			var st Stat
			var ok bool
			if base == "raw" {
				st, ok = ms.VsRaw[c.Name]
			} else {
				st, ok = ms.VsPeer[c.Name][base]
			}
			if ok {
				g.bars = append(g.bars, plotBar{contender: ci, med: st.Median, min: st.Min, max: st.Max})
			}
		}
		if len(g.bars) > 0 {
			gs = append(gs, g)
		}
	}
	return gs
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// writeSVG draws the plot.
func (r *Report) writeSVG(w io.Writer) {
	panels := []struct {
		title string
		gs    []plotGroup
	}{
		{"higher is better (× raw)", r.plotGroups("raw", +1)},
		{"lower is better (× raw)", r.plotGroups("raw", -1)},
		{"TCP + Noise stack (× bare Noise; ↑ higher is better, ↓ lower is better)", r.plotGroups("noise", 0)},
	}
	if len(panels[2].gs) == 0 {
		panels = panels[:2]
	}
	maxGroups := 1
	for _, p := range panels {
		maxGroups = max(maxGroups, len(p.gs))
	}
	width := plotLeft + float64(maxGroups)*plotGroupW + 20
	height := plotTop + float64(len(panels))*(plotPanelH+plotLabelH+plotPanelGap)
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="%.0f" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", plotLeft,
		esc(fmt.Sprintf("muxbench %s mode, %d rounds: median per-round ratio to raw (whiskers: min–max; log scale, clipped at 64×)", r.Meta.Mode, r.Meta.Rounds)))
	// Legend.
	x := plotLeft
	for i, c := range r.Contenders {
		if c.Name == "raw" {
			continue
		}
		fmt.Fprintf(w, `<rect x="%.0f" y="28" width="12" height="12" fill="%s"/><text x="%.0f" y="38">%s</text>`+"\n", x, palette[i%len(palette)], x+16, esc(c.Name))
		x += 30 + 7*float64(len(c.Name))
	}
	top := plotTop
	for _, p := range panels {
		r.drawPanel(w, top, p.title, p.gs)
		top += plotPanelH + plotLabelH + plotPanelGap
	}
	fmt.Fprintln(w, "</svg>")
}

// drawPanel draws one panel on a log2 scale: a ratio of 2× and one of 0.5×
// are the same distance from raw's line.
func (r *Report) drawPanel(w io.Writer, top float64, title string, gs []plotGroup) {
	lo, hi := 0.25, 2.0
	for _, g := range gs {
		for _, b := range g.bars {
			if b.min > 0 {
				lo = math.Min(lo, b.min)
			}
			hi = math.Max(hi, b.max)
		}
	}
	lo = math.Max(math.Exp2(math.Floor(math.Log2(lo))), plotMinY)
	hi = math.Min(math.Exp2(math.Ceil(math.Log2(hi))), plotMaxY)
	span := math.Log2(hi) - math.Log2(lo)
	y := func(v float64) float64 {
		v = math.Min(math.Max(v, lo), hi)
		return top + plotPanelH - (math.Log2(v)-math.Log2(lo))/span*plotPanelH
	}
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", plotLeft, top-8, esc(title))
	right := plotLeft + float64(max(len(gs), 1))*plotGroupW
	for v := lo; v <= hi*1.0001; v *= 2 {
		fmt.Fprintf(w, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end">%s×</text>`+"\n",
			plotLeft, right, y(v), y(v), plotLeft-4, y(v)+4, fmtTick(v))
	}
	fmt.Fprintf(w, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="black" stroke-dasharray="5,3"/>`+"\n", plotLeft, right, y(1), y(1))
	for gi, g := range gs {
		gx := plotLeft + float64(gi)*plotGroupW
		bw := (plotGroupW - 12) / float64(len(g.bars))
		for bi, b := range g.bars {
			bx := gx + 6 + float64(bi)*bw
			fill := palette[b.contender%len(palette)]
			// Bars grow from raw's line: up when above raw, down when below.
			y0, y1 := y(1), y(b.med)
			if y1 > y0 {
				y0, y1 = y1, y0
			}
			fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
				bx, y1, bw-1, math.Max(y0-y1, 1), fill, esc(fmt.Sprintf("%s %s %s: %s× raw (%s–%s)", r.Contenders[b.contender].Name, g.label1, g.label2, fmtRatioNum(b.med), fmtRatioNum(b.min), fmtRatioNum(b.max))))
			cx := bx + (bw-1)/2
			fmt.Fprintf(w, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="black"/>`+"\n", cx, cx, y(b.min), y(b.max))
			if b.med > hi || b.med < lo {
				// Clipped: the value is in the bar's tooltip; mark the end.
				mark, dy := "▲", -2.0
				if b.med < lo {
					mark, dy = "▼", 10
				}
				fmt.Fprintf(w, `<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle">%s</text>`+"\n", cx, y(b.med)+dy, mark)
			}
		}
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text><text x="%.1f" y="%.0f" text-anchor="middle" fill="#555" font-size="10">%s</text>`+"\n",
			gx+plotGroupW/2, top+plotPanelH+16, esc(g.label1), gx+plotGroupW/2, top+plotPanelH+30, esc(g.label2))
	}
}

func fmtTick(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("1/%.0f", 1/v)
}

func (r *Report) writeSVGFile(path string) error {
	var b bytes.Buffer
	r.writeSVG(&b)
	return os.WriteFile(path, b.Bytes(), 0o644)
}
