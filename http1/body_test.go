package http1

import (
	"bytes"
	"errors"
	"testing"
)

// frameAll feeds in to a framer in pieces of at most step bytes (0: all at
// once) and returns the bytes it would write and what it consumed.
func frameAll(t testing.TB, f *BodyFramer, in []byte, step int) (out []byte, used int, done bool, err error) {
	for used < len(in) && !done {
		end := len(in)
		if step > 0 && used+step < end {
			end = used + step
		}
		p := in[used:end]
		for len(p) > 0 && !done {
			var n int
			var fr Frame
			n, fr, done, err = f.Next(p)
			if n < 0 || n > len(p) {
				t.Fatalf("n = %d, len(p) = %d", n, len(p))
			}
			if err != nil {
				return out, used + n, done, err
			}
			if n == 0 && !done {
				t.Fatalf("no progress at %d", used)
			}
			out = fr.AppendTo(out)
			used += n
			p = p[n:]
		}
	}
	return out, used, done, nil
}

func TestBodyFramerRechunks(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		// Extensions and BWS go; our size line replaces theirs.
		{"extensions", "5 ;a=b\r\nhello\r\n3;x=\"y;z\"\r\nabc\r\n0;last\r\n\r\n", "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"},
		// Leading zeros and upper-case hex are re-written.
		{"hex", "000A\r\n0123456789\r\n0\r\n\r\n", "a\r\n0123456789\r\n0\r\n\r\n"},
		// Trailers are dropped, the framing-looking ones included.
		{"trailers", "4\r\nwiki\r\n0\r\nContent-Length: 9\r\nTransfer-Encoding: chunked\r\nHost: evil\r\nX-Sum: 1\r\n\r\n", "4\r\nwiki\r\n0\r\n\r\n"},
		// An empty body stays an empty body.
		{"empty", "0\r\n\r\n", "0\r\n\r\n"},
		{"empty with trailers", "0\r\nA: b\r\n\r\n", "0\r\n\r\n"},
		// Pipelined bytes after the body are left alone.
		{"pipelined", "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "2\r\nhi\r\n0\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 3} {
				var f BodyFramer
				f.Reset(FramingChunked, -1, true)
				out, used, done, err := frameAll(t, &f, []byte(tc.in), step)
				if err != nil || !done {
					t.Fatalf("step %d: done=%v err=%v", step, done, err)
				}
				// Split input makes more, smaller chunks; the data and the
				// shape (no extensions, one last chunk, no trailers) hold.
				data, u, d, e := decodeChunked(t, out, 0)
				wantData, _, _, _ := decodeChunked(t, []byte(tc.want), 0)
				if e != nil || !d || u != len(out) || !bytes.Equal(data, wantData) {
					t.Fatalf("step %d: out %q does not decode to %q", step, out, wantData)
				}
				if step == 0 && string(out) != tc.want {
					t.Fatalf("out = %q, want %q", out, tc.want)
				}
				if bytes.ContainsAny(out, "; ") || !bytes.HasSuffix(out, []byte("\r\n0\r\n\r\n")) && string(out) != "0\r\n\r\n" {
					t.Fatalf("step %d: out %q keeps extensions or trailers", step, out)
				}
				if _, wantUsed, _, _ := decodeChunked(t, []byte(tc.in), 0); used != wantUsed {
					t.Fatalf("step %d: used %d, want %d", step, used, wantUsed)
				}
				if f.Received() != int64(len(wantData)) {
					t.Fatalf("Received = %d, want %d", f.Received(), len(wantData))
				}
			}
		})
	}
}

func TestBodyFramerPassThrough(t *testing.T) {
	// De-chunking (HTTP/1.0 client): data only.
	var f BodyFramer
	f.Reset(FramingChunked, -1, false)
	out, _, done, err := frameAll(t, &f, []byte("3;x\r\nabc\r\n1\r\nd\r\n0\r\nA: b\r\n\r\n"), 2)
	if err != nil || !done || string(out) != "abcd" {
		t.Fatalf("dechunk: %q %v %v", out, done, err)
	}
	// Content-Length: exactly that many bytes, zero-copy.
	f.Reset(FramingLength, 5, true) // rechunk applies to chunked input only
	in := []byte("helloGET")
	n, fr, done, err := f.Next(in)
	if n != 5 || !done || err != nil || len(fr.Pre)+len(fr.Post) != 0 || &fr.Data[0] != &in[0] || len(fr.Data) != 5 {
		t.Fatalf("length: n=%d done=%v err=%v frame=%q", n, done, err, fr.AppendTo(nil))
	}
	// Close-delimited: everything, never done.
	f.Reset(FramingClose, -1, false)
	if n, fr, done, _ := f.Next(in); n != len(in) || done || string(fr.Data) != string(in) {
		t.Fatalf("close: n=%d done=%v", n, done)
	}
	// No body: done at once.
	f.Reset(FramingNone, -1, true)
	if n, fr, done, _ := f.Next(in); n != 0 || !done || fr.Len() != 0 {
		t.Fatalf("none: n=%d done=%v", n, done)
	}
}

// TestBodyFramerCommitted: a chunk's announced size counts against a limit
// as soon as its size line is read, before its data.
func TestBodyFramerCommitted(t *testing.T) {
	var f BodyFramer
	f.Reset(FramingChunked, -1, true)
	// One step takes the first chunk and reads on through the next size
	// line; that chunk's data has not come yet.
	in := []byte("2\r\nab\r\n100000\r\n")
	n, fr, done, err := f.Next(in)
	if err != nil || done || n != len(in) || string(fr.AppendTo(nil)) != "2\r\nab\r\n" {
		t.Fatalf("n=%d %q %v %v", n, fr.AppendTo(nil), done, err)
	}
	if got := f.Committed(); got != 2+0x100000 {
		t.Fatalf("Committed = %d", got)
	}
	f.Reset(FramingLength, 10, false)
	if _, _, _, _ = f.Next([]byte("abc")); f.Committed() != 10 || f.Received() != 3 {
		t.Fatalf("length: Committed=%d Received=%d", f.Committed(), f.Received())
	}
	// A bad body is an error and writes nothing of the bad step.
	f.Reset(FramingChunked, -1, true)
	if _, fr, _, err := f.Next([]byte("ffffffffffffffff\r\n")); !errors.Is(err, ErrChunkTooLarge) || fr.Len() != 0 {
		t.Fatalf("too large: err=%v len=%d", err, fr.Len())
	}
}

func TestBodyFramerZeroAlloc(t *testing.T) {
	in := benchChunkedBody()
	var f BodyFramer
	var sink int
	a := testing.AllocsPerRun(50, func() {
		f.Reset(FramingChunked, -1, true)
		for p := in; len(p) > 0; {
			n, fr, done, err := f.Next(p)
			if err != nil {
				t.Fatal(err)
			}
			sink += fr.Len()
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
