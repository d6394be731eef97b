package http1

import (
	"fmt"
	"strings"
	"testing"
)

func TestNextWeighted(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"gzip", "gzip=1000"},
		{"gzip, br;q=0.8, zstd;q=0", "gzip=1000 br=800 zstd=0"},
		{" gzip ; q=0.5 ,, identity;q=0 ,*;q=0.1", "gzip=500 identity=0 *=100"},
		{"br;Q=1.000", "br=1000"},
		{"br;q=1.", "br=1000"},
		{"br;q=0.", "br=0"},
		{"br;q=0.001", "br=1"},
		{"br;q=1.5, gzip;q=2, x;q=0.1234, y;q=, z;q=abc, w;q=-1", "br=-1 gzip=-1 x=-1 y=-1 z=-1 w=-1"},
		{"gzip;level=9;q=0.3", "gzip=300"},
		{";q=0.5, gzip", "gzip=1000"},
		{"gzip;q=0.5;q=0.7", "gzip=700"},
		{"gzip\t;\tq=0.25", "gzip=250"},
	}
	for _, c := range cases {
		var got []string
		for tok, q, rest := NextWeighted([]byte(c.in)); tok != nil; tok, q, rest = NextWeighted(rest) {
			got = append(got, fmt.Sprintf("%s=%d", tok, q))
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%q: got %q, want %q", c.in, g, c.want)
		}
	}
}

func TestNextWeightedZeroAlloc(t *testing.T) {
	list := []byte("zstd;q=0.9, br;q=0.95, gzip, deflate;q=0.1, identity;q=0, *;q=0")
	n := testing.AllocsPerRun(100, func() {
		for tok, _, rest := NextWeighted(list); tok != nil; tok, _, rest = NextWeighted(rest) {
		}
	})
	if n != 0 {
		t.Fatalf("%v allocs", n)
	}
}
