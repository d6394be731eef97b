package http1

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// decodeChunked feeds in to a fresh decoder in pieces of at most step bytes
// (0: all at once) and returns the decoded data and the consumed length.
func decodeChunked(t testing.TB, in []byte, step int) (data []byte, used int, done bool, err error) {
	var c Chunked
	for used < len(in) && !done {
		end := len(in)
		if step > 0 && used+step < end {
			end = used + step
		}
		p := in[used:end]
		for len(p) > 0 && !done {
			n, d, dn, e := c.Step(p)
			if n > len(p) || n < 0 {
				t.Fatalf("n = %d > len(p) = %d", n, len(p))
			}
			data = append(data, d...)
			used += n
			p = p[n:]
			done = dn
			if e != nil {
				return data, used, done, e
			}
			if n == 0 && !dn {
				t.Fatalf("no progress at %d", used)
			}
		}
	}
	return data, used, done, nil
}

var validChunked = []struct {
	name, in, data string
	trailers       bool
}{
	// Simplest body.
	{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", false},
	// Empty body: last chunk only.
	{"empty", "0\r\n\r\n", "", false},
	// Several chunks, upper and lower case hex, leading zeros.
	{"hex sizes", "A\r\n0123456789\r\nb\r\nabcdefghijk\r\n000\r\n\r\n", "0123456789abcdefghijk", false},
	// Extensions: bare name, token value, quoted value with escape and ';', BWS.
	{"extensions", "3;a\r\nabc\r\n2 ; b = c;d=\"x;\\\"y\"\r\nde\r\n0;last=1\r\n\r\n", "abcde", false},
	// Trailer fields after the last chunk.
	{"trailers", "4\r\nwiki\r\n0\r\nExpires: never\r\nX-Sum:\tabc \xff\r\n\r\n", "wiki", true},
	// 16 hex digits is the most we take.
	{"16 digits", "0000000000000003\r\nabc\r\n0\r\n\r\n", "abc", false},
}

func TestChunkedValid(t *testing.T) {
	for _, tc := range validChunked {
		t.Run(tc.name, func(t *testing.T) {
			// Bytes after the body must not be consumed.
			in := []byte(tc.in + "GET / HTTP/1.1\r\n")
			for _, step := range []int{0, 1, 2, 3, 7} {
				data, used, done, err := decodeChunked(t, in, step)
				if err != nil || !done || used != len(tc.in) || string(data) != tc.data {
					t.Fatalf("step %d: data=%q used=%d done=%v err=%v", step, data, used, done, err)
				}
			}
			// Every single split point.
			for k := 0; k <= len(tc.in); k++ {
				var c Chunked
				var data []byte
				used := 0
				for _, part := range [][]byte{in[:k], in[k:]} {
					for len(part) > 0 && !c.Done() {
						n, d, _, err := c.Step(part)
						if err != nil {
							t.Fatalf("split %d: %v", k, err)
						}
						data = append(data, d...)
						used += n
						part = part[n:]
					}
				}
				if !c.Done() || used != len(tc.in) || string(data) != tc.data || c.Trailers() != tc.trailers {
					t.Fatalf("split %d: data=%q used=%d done=%v trailers=%v", k, data, used, c.Done(), c.Trailers())
				}
			}
		})
	}
}

// TestChunkedOneRunPerStep checks that Step never merges two chunks' data.
func TestChunkedOneRunPerStep(t *testing.T) {
	var c Chunked
	p := []byte("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	n, d, done, err := c.Step(p)
	if err != nil || done || string(d) != "abc" || n != len("3\r\nabc\r\n2\r\n") {
		t.Fatalf("first: n=%d d=%q done=%v err=%v", n, d, done, err)
	}
	n2, d, done, err := c.Step(p[n:])
	if err != nil || !done || string(d) != "de" || n+n2 != len(p) {
		t.Fatalf("second: n=%d d=%q done=%v err=%v", n2, d, done, err)
	}
	// After done, nothing more is consumed.
	if n, d, done, err := c.Step([]byte("x")); n != 0 || d != nil || !done || err != nil {
		t.Fatalf("after done: %d %q %v %v", n, d, done, err)
	}
}

func TestChunkedReject(t *testing.T) {
	cases := []struct {
		name, in string
		err      error
	}{
		{"no size", "\r\n", ErrBadChunk},
		{"sign", "+5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"space before size", " 5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"space after size", "5 \r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"non-hex", "5g\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n", ErrBareLF},
		{"bare CR after size", "5\rhello\r\n0\r\n\r\n", ErrBadChunk},
		{"data too long", "5\r\nhello!\r\n0\r\n\r\n", ErrBadChunk},
		{"data then LF", "5\r\nhello\n0\r\n\r\n", ErrBareLF},
		{"data then CR CR", "5\r\nhello\r\r\n0\r\n\r\n", ErrBadChunk},
		{"empty ext name", "5;\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"ext bad char", "5;a=b\x01\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"ext unterminated quote", "5;a=\"b\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"ext LF in quote", "5;a=\"b\n\"\r\nhello\r\n0\r\n\r\n", ErrBareLF},
		{"ext trailing ws", "5;a=b \r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"ext too long", "5;a=" + strings.Repeat("b", 5000) + "\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
		{"trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n", ErrBadChunk},
		{"trailer space before colon", "0\r\nA : b\r\n\r\n", ErrBadChunk},
		{"trailer no colon", "0\r\nAb\r\n\r\n", ErrBadChunk},
		{"trailer NUL", "0\r\nA: \x00\r\n\r\n", ErrBadChunk},
		{"trailer bare LF", "0\r\nA: b\n\r\n", ErrBareLF},
		{"final bare LF", "0\r\n\n", ErrBareLF},
		{"final CR junk", "0\r\n\rx", ErrBadChunk},
		{"trailers too large", "0\r\nA: " + strings.Repeat("b", 33<<10) + "\r\n\r\n", ErrHeaderTooLarge},
		// Sizes from 2^63 up fit no signed 64-bit length (nginx's bound too).
		{"size 2^63", "8000000000000000\r\n", ErrChunkTooLarge},
		{"size 2^64-1", "ffffffffffffffff\r\n", ErrChunkTooLarge},
		{"size 2^63 with leading zero", "08000000000000000\r\n", ErrBadChunk}, // 17 digits
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{0, 1} {
				_, _, _, err := decodeChunked(t, []byte(tc.in), step)
				if !errors.Is(err, tc.err) {
					t.Fatalf("step %d: err = %v, want %v", step, err, tc.err)
				}
			}
			// The error is sticky.
			var c Chunked
			p := []byte(tc.in)
			var err error
			for len(p) > 0 && err == nil {
				var n int
				n, _, _, err = c.Step(p)
				p = p[n:]
			}
			if _, _, _, err2 := c.Step([]byte("0\r\n\r\n")); err2 != err {
				t.Fatalf("not sticky: %v then %v", err, err2)
			}
		})
	}
}

func TestAppendChunk(t *testing.T) {
	var b []byte
	b = AppendChunk(b, []byte("hello"))
	b = AppendChunk(b, nil) // no-op: an empty chunk would end the body
	b = AppendChunk(b, bytes.Repeat([]byte("x"), 300))
	b = AppendLastChunk(b)
	want := "5\r\nhello\r\n12c\r\n" + strings.Repeat("x", 300) + "\r\n0\r\n\r\n"
	if string(b) != want {
		t.Fatalf("got %q", b)
	}
	data, used, done, err := decodeChunked(t, b, 0)
	if err != nil || !done || used != len(b) || string(data) != "hello"+strings.Repeat("x", 300) {
		t.Fatalf("round trip: %v %v", err, done)
	}
}

func TestChunkedZeroAlloc(t *testing.T) {
	in := benchChunkedBody()
	var c Chunked
	a := testing.AllocsPerRun(50, func() {
		c.Reset()
		p := in
		for len(p) > 0 {
			n, _, done, err := c.Step(p)
			if err != nil {
				t.Fatal(err)
			}
			p = p[n:]
			if done {
				break
			}
		}
	})
	if a != 0 {
		t.Fatalf("allocs = %v", a)
	}
}

// TestChunkedSizeBound pins the largest size taken, 2^63-1, and that its
// announcement is visible through Pending before any data arrives.
func TestChunkedSizeBound(t *testing.T) {
	var c Chunked
	n, data, done, err := c.Step([]byte("7fffffffffffffff\r\nab"))
	if err != nil || done || string(data) != "ab" || n != 20 {
		t.Fatalf("n=%d data=%q done=%v err=%v", n, data, done, err)
	}
	if got := c.Pending(); got != 1<<63-1-2 {
		t.Fatalf("Pending = %d", got)
	}
	c.Reset()
	if _, _, _, err := c.Step([]byte("8000000000000000")); !errors.Is(err, ErrChunkTooLarge) {
		t.Fatalf("2^63: err = %v", err)
	}
	// Between chunks nothing is pending.
	c.Reset()
	if _, _, _, err := c.Step([]byte("3\r\nabc\r\n")); err != nil || c.Pending() != 0 {
		t.Fatalf("err=%v Pending=%d", err, c.Pending())
	}
}
