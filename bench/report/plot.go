package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// tickPcts are the labelled percentiles of the x axis; the curves also
// pass through every other percentile the wrk files have (75, 95).
var tickPcts = []struct {
	p     float64
	label string
}{{50, "50"}, {90, "90"}, {99, "99"}, {99.9, "99.9"}, {99.99, "99.99"}}

// Panel size and layout: two panels a row keep a 5-scenario quick run
// readable on one screen.
const (
	panelW, panelH = 6 * vg.Inch, 4 * vg.Inch
	maxCols        = 2
)

// nines maps a percentile to the "number of nines" scale, so 90, 99,
// 99.9 and 99.99 are evenly spaced and the tail is not squeezed into the
// right edge: x = -log10(1 - p/100).
func nines(p float64) float64 { return -math.Log10(1 - p/100) }

func plotCmd(args []string, w, warn io.Writer) error {
	fs := flag.NewFlagSet("plot", flag.ExitOnError)
	dir := fs.String("dir", "", "run output directory")
	out := fs.String("out", "", "PNG file to write")
	targetsF := fs.String("targets", "", "targets (legend order), space separated (default: as found)")
	scenariosF := fs.String("scenarios", "", "scenarios (panel order), space separated (default: as found)")
	fs.Parse(args)
	if *dir == "" || *out == "" {
		return fmt.Errorf("plot: -dir and -out are required")
	}
	d := loadRun(*dir, warn)
	if err := d.plot(order(*scenariosF, d.scenarios), order(*targetsF, d.targets), *out); err != nil {
		return err
	}
	fmt.Fprintln(w, *out)
	return nil
}

// plot draws one panel per scenario that has data and writes the PNG.
// A target keeps its colour and dash in every panel (its index in tgs).
func (d *runData) plot(scs, tgs []string, out string) error {
	var panels []*plot.Plot
	for _, sc := range scs {
		p, err := d.panel(sc, tgs)
		if err != nil {
			return err
		}
		if p != nil {
			panels = append(panels, p)
		}
	}
	if len(panels) == 0 {
		return fmt.Errorf("plot: no latency data for scenarios %v, targets %v", scs, tgs)
	}
	cols := min(maxCols, len(panels))
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols) // nil tiles stay blank
	}
	for i, p := range panels {
		grid[i/cols][i%cols] = p
	}
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(cols)*panelW, vg.Length(rows)*panelH), vgimg.UseDPI(96))
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 6,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(grid, tiles, draw.New(img))
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot: writing %s: %w", out, err)
	}
	return f.Close()
}

// panel is the plot of one scenario, nil when no target has a latency.
func (d *runData) panel(sc string, tgs []string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = sc
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Min, p.X.Max = nines(tickPcts[0].p), nines(tickPcts[len(tickPcts)-1].p)
	p.Y.Min = 0
	var ticks plot.ConstantTicks
	for _, t := range tickPcts {
		ticks = append(ticks, plot.Tick{Value: nines(t.p), Label: t.label})
	}
	p.X.Tick.Marker = ticks
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	drawn, maxY := false, 0.0
	for i, tg := range tgs {
		xys := d.curve(sc, tg)
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plot %s/%s: %w", sc, tg, err)
		}
		line.Color, line.Dashes, line.Width = plotutil.Color(i), plotutil.Dashes(i), vg.Points(1.5)
		points.Color, points.Shape = plotutil.Color(i), plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(tg, line, points)
		for _, xy := range xys {
			maxY = max(maxY, xy.Y)
		}
		drawn = true
	}
	if !drawn {
		return nil, nil
	}
	p.Y.Max = max(maxY*1.1, 0.01) // headroom: the highest point is not drawn on the frame
	return p, nil
}

// curve is the median over the rounds of each percentile of one target, on
// the nines scale, in percentile order; percentiles that no round has, or
// that the axis cannot show (100), are left out.
func (d *runData) curve(sc, tg string) plotter.XYs {
	byPct := map[float64][]float64{}
	for _, r := range d.rounds[cell{sc, tg}] {
		for pc, v := range r.pct {
			byPct[pc] = append(byPct[pc], v)
		}
	}
	var pcts []float64
	for pc := range byPct {
		if pc >= tickPcts[0].p && pc <= tickPcts[len(tickPcts)-1].p {
			pcts = append(pcts, pc)
		}
	}
	slices.Sort(pcts)
	var xys plotter.XYs
	for _, pc := range pcts {
		if v := median(byPct[pc]); !math.IsNaN(v) {
			xys = append(xys, plotter.XY{X: nines(pc), Y: v})
		}
	}
	return xys
}
