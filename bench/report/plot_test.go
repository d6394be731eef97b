package main

import (
	"bytes"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNines(t *testing.T) {
	// 90, 99, 99.9, 99.99 are one unit apart; 50 sits at log10(2)
	for p, want := range map[float64]float64{50: math.Log10(2), 90: 1, 99: 2, 99.9: 3, 99.99: 4} {
		if got := nines(p); math.Abs(got-want) > 1e-9 {
			t.Errorf("nines(%v) = %v, want %v", p, got, want)
		}
	}
}

func TestPlot(t *testing.T) {
	dir := fixture(t)
	cases := []struct {
		name, scenarios, targets string
		wantErr                  bool
	}{
		// 2 scenarios x 3 targets, every target in both
		{"2x3", "small-c64 edge-c64", "sluice nginx haproxy", false},
		// direct is absent from edge-c64: that panel just has no direct line
		{"missing target", "small-c64 edge-c64", "direct sluice nginx", false},
		// nothing to draw is an error, not an empty PNG
		{"no data", "nope", "sluice", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "lat.png")
			var stdout bytes.Buffer
			err := plotCmd([]string{"-dir", dir, "-out", out, "-scenarios", c.scenarios, "-targets", c.targets},
				&stdout, io.Discard)
			if c.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(stdout.String()); got != out {
				t.Errorf("printed %q, want %q", got, out)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			// two panels side by side
			if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 || b.Dx() <= b.Dy() {
				t.Errorf("image bounds %v, want two panels in a row", b)
			}
		})
	}
}

func TestCurveMedian(t *testing.T) {
	d := loadRun(fixture(t), io.Discard)
	// small-c64/sluice has the same summary.lua percentiles in every round;
	// nginx has only wrk's 50/75/90/99
	if got := len(d.curve("small-c64", "sluice")); got != 7 {
		t.Errorf("sluice curve has %d points, want 7", got)
	}
	xys := d.curve("small-c64", "nginx")
	if len(xys) != 4 || xys[3].X != nines(99) || xys[3].Y != 1.6 {
		t.Errorf("nginx curve = %v, want 4 points ending at (2, 1.6)", xys)
	}
}
