package compress

import (
	"os"
	"testing"
)

// jsonBody is testdata/64k.json: 210 user records, 64 KiB, the body the
// compression benchmarks (here and bench/compress.sh) use.
func jsonBody(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/64k.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkLevels encodes the 64 KiB JSON body in one run (as a response
// that arrived in one read) at each level worth considering, reporting the
// ratio beside the time: the measurement behind the default levels.
//
//	go test -run '^$' -bench BenchmarkLevels -benchmem ./filter/compress/
func BenchmarkLevels(b *testing.B) {
	body := jsonBody(b)
	for _, l := range []struct {
		name   string
		c      coding
		levels []int
	}{
		{"gzip", gzipCoding, []int{1, 3, 4, 5, 6, 9}},
		{"br", brCoding, []int{1, 3, 4, 5, 6, 11}},
		{"zstd", zstdCoding, []int{1, 3, 6, 10}},
	} {
		for _, level := range l.levels {
			b.Run(l.name+"-"+itoa(level), func(b *testing.B) {
				e := newEncoders(l.c, level)
				var n int
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					t := e.get()
					out, err := t.Transform(body, true)
					if err != nil {
						b.Fatal(err)
					}
					n = len(out)
					t.Release()
				}
				b.ReportMetric(float64(len(body))/float64(n), "ratio")
			})
		}
	}
}

func itoa(n int) string {
	if n >= 10 {
		return string(rune('0'+n/10)) + string(rune('0'+n%10))
	}
	return string(rune('0' + n))
}

// BenchmarkRuns encodes the same body as four 16 KiB runs, each flushed,
// as a response relayed in four reads is.
func BenchmarkRuns(b *testing.B) {
	body := jsonBody(b)
	for _, run := range []int{16 << 10, 4 << 10, 1 << 10} {
		for _, c := range []coding{gzipCoding, brCoding, zstdCoding} {
			b.Run(codingNames[c]+"-"+itoa(run>>10)+"k", func(b *testing.B) {
				e := newEncoders(c, levelOf(Levels{}, c))
				n := 0
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					t := e.get()
					n = 0
					for p := body; len(p) > 0; p = p[run:] {
						out, _ := t.Transform(p[:run], len(p) == run)
						n += len(out)
					}
					t.Release()
				}
				b.ReportMetric(float64(len(body))/float64(n), "ratio")
			})
		}
	}
}
