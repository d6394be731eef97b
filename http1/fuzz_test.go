package http1

import (
	"bytes"
	"testing"
	"unsafe"
)

// inside reports whether v is empty or lies within buf (or is the static
// "/" used for absolute-form targets without a path).
func inside(v, buf []byte) bool {
	if len(v) == 0 || unsafe.SliceData(v) == unsafe.SliceData(slash) {
		return true
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	return p >= start && p+uintptr(len(v)) <= start+uintptr(len(buf))
}

func FuzzParseRequest(f *testing.F) {
	for _, tc := range validRequests {
		f.Add([]byte(tc.in))
	}
	for _, tc := range badRequests {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(benchRequest))
	lim := &Limits{MaxHeaderBytes: 4096, MaxURIBytes: 512, MaxHeaders: 20}
	f.Fuzz(func(t *testing.T, buf []byte) {
		var r, r2 Request
		n, err := ParseRequest(buf, &r, lim)
		if n < 0 || n > len(buf) {
			t.Fatalf("n = %d, len = %d", n, len(buf))
		}
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			if err != ErrIncomplete && StatusOf(err) < 400 {
				t.Fatalf("error %v has status %d", err, StatusOf(err))
			}
		} else {
			if r.HeadLen <= 0 || r.HeadLen != n {
				t.Fatalf("HeadLen = %d, n = %d", r.HeadLen, n)
			}
			if n > 4096 || len(r.Headers) > 20 || len(r.Target) > 512 {
				t.Fatalf("limits exceeded: n=%d headers=%d target=%d", n, len(r.Headers), len(r.Target))
			}
			for _, v := range [][]byte{r.Method, r.Target, r.Path, r.Query, r.Host} {
				if !inside(v, buf[:n]) {
					t.Fatalf("view %q outside the head", v)
				}
			}
			for _, hd := range r.Headers {
				if !inside(hd.Name, buf[:n]) || !inside(hd.Value, buf[:n]) || len(hd.Name) == 0 {
					t.Fatalf("bad header view %q: %q", hd.Name, hd.Value)
				}
			}
			if r.Chunked && r.ContentLength >= 0 {
				t.Fatal("both chunked and Content-Length")
			}
			// A successful parse must not depend on bytes after the head.
			n3, err3 := ParseRequest(buf[:n], &r2, lim)
			if n3 != n || err3 != nil {
				t.Fatalf("head alone: n=%d err=%v", n3, err3)
			}
		}
		// Deterministic.
		n2, err2 := ParseRequest(buf, &r2, lim)
		if n2 != n || err2 != err {
			t.Fatalf("re-parse: %d %v vs %d %v", n2, err2, n, err)
		}
		if err == nil && (!bytes.Equal(r.Target, r2.Target) || len(r.Headers) != len(r2.Headers) || r.ContentLength != r2.ContentLength) {
			t.Fatal("re-parse differs")
		}
		// A prefix is never "complete" with a different result: if the
		// whole buffer parses, every shorter prefix of the head is
		// incomplete or an error, never a success.
		if err == nil && n > 1 {
			if _, e := ParseRequest(buf[:n-1], &r2, lim); e == nil {
				t.Fatal("proper prefix of the head parsed")
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(benchResponse))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 304 Not Modified\r\nContent-Length: 3, 3\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 404\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"))
	f.Fuzz(func(t *testing.T, buf []byte) {
		var r, r2 Response
		n, err := ParseResponse(buf, &r, 2048)
		if n < 0 || n > len(buf) {
			t.Fatalf("n = %d", n)
		}
		if err == nil {
			if r.HeadLen <= 0 || r.HeadLen != n || n > 2048 {
				t.Fatalf("HeadLen = %d, n = %d", r.HeadLen, n)
			}
			if r.Status < 100 || r.Status > 999 {
				t.Fatalf("status %d", r.Status)
			}
			if !inside(r.Reason, buf) {
				t.Fatal("reason outside buf")
			}
			for _, hd := range r.Headers {
				if !inside(hd.Name, buf[:n]) || !inside(hd.Value, buf[:n]) {
					t.Fatal("header outside head")
				}
			}
			if r.Chunked && r.ContentLength >= 0 {
				t.Fatal("both chunked and Content-Length")
			}
			_ = ResponseFraming(false, &r)
		} else if n != 0 {
			t.Fatalf("n = %d on error", n)
		}
		n2, err2 := ParseResponse(buf, &r2, 2048)
		if n2 != n || err2 != err {
			t.Fatal("not deterministic")
		}
	})
}

func FuzzChunked(f *testing.F) {
	for _, tc := range validChunked {
		f.Add([]byte(tc.in), uint8(1))
		f.Add([]byte(tc.in+"trailing"), uint8(5))
	}
	f.Add([]byte("5;a=\"b\\\"c\"\r\nhello\r\n0\r\nA: b\r\n\r\n"), uint8(3))
	f.Add([]byte("5\r\nhello\n0\r\n\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		whole, used, done, err := decodeChunked(t, in, 0)
		if used > len(in) {
			t.Fatalf("used %d > %d", used, len(in))
		}
		s := int(step%16) + 1
		split, used2, done2, err2 := decodeChunked(t, in, s)
		if err != err2 || used != used2 || done != done2 || !bytes.Equal(whole, split) {
			t.Fatalf("split %d differs: %q/%d/%v/%v vs %q/%d/%v/%v", s, whole, used, done, err, split, used2, done2, err2)
		}
		if done {
			// Whatever followed the body was left alone, and the consumed
			// part re-decodes to the same data.
			again, u, d, e := decodeChunked(t, in[:used], 1)
			if e != nil || !d || u != used || !bytes.Equal(again, whole) {
				t.Fatal("consumed prefix does not re-decode")
			}
			// Re-encoding the data gives a body that decodes to it too.
			enc := AppendLastChunk(AppendChunk(nil, whole))
			back, _, d, e := decodeChunked(t, enc, 0)
			if e != nil || !d || !bytes.Equal(back, whole) {
				t.Fatal("re-encoded body does not round-trip")
			}
		}
		// The framer agrees with the decoder at any split, and what it
		// writes is a clean chunked body of the same data: our size lines
		// only (no extensions, no BWS), no trailers.
		var fr BodyFramer
		fr.Reset(FramingChunked, -1, true)
		out, fused, fdone, ferr := frameAll(t, &fr, in, s)
		if ferr != err || fused > used || fdone != done {
			t.Fatalf("framer: used %d/%d done %v/%v err %v/%v", fused, used, fdone, done, ferr, err)
		}
		if done {
			if fused != used || fr.Received() != int64(len(whole)) {
				t.Fatalf("framer consumed %d of %d, received %d of %d", fused, used, fr.Received(), len(whole))
			}
			back, u, d, e := decodeChunked(t, out, 0)
			if e != nil || !d || u != len(out) || !bytes.Equal(back, whole) {
				t.Fatalf("re-framed body %q does not decode to the data", out)
			}
			// Walk the chunks: every size line is bare lower-case hex
			// without leading zeros, and the only empty chunk is the last,
			// with nothing after it.
			for rest := out; ; {
				line, after, ok := bytes.Cut(rest, []byte("\r\n"))
				size, valid := parseHexLine(line)
				if !ok || !valid {
					t.Fatalf("re-framed size line %q in %q", line, out)
				}
				if size == 0 {
					if string(after) != "\r\n" {
						t.Fatalf("re-framed body %q: trailers or junk after the last chunk", out)
					}
					break
				}
				rest = after[size+2:]
			}
		}
	})
}

// parseHexLine parses a size line the framer writes: lower-case hex, no
// leading zero (but "0"), nothing else.
func parseHexLine(line []byte) (int, bool) {
	if len(line) == 0 || len(line) > 1 && line[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

func FuzzNextWeighted(f *testing.F) {
	for _, s := range []string{"gzip, br;q=0.8, zstd;q=0", "identity;q=0, *;q=0.1", "br;q=1.000;x=y", ";q=1,,", "a;q=0.", "gzip;q=1.5"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		list := in
		for steps := 0; ; steps++ {
			if steps > len(in)+1 {
				t.Fatal("no progress")
			}
			tok, q, rest := NextWeighted(list)
			if tok == nil {
				if rest != nil {
					t.Fatal("rest without a token")
				}
				return
			}
			if len(rest) >= len(list) {
				t.Fatalf("rest %q not shorter than %q", rest, list)
			}
			if q < -1 || q > 1000 {
				t.Fatalf("q %d out of range", q)
			}
			if len(tok) == 0 || isOWS(tok[0]) || isOWS(tok[len(tok)-1]) || bytes.ContainsAny(tok, ",;") {
				t.Fatalf("token %q not trimmed to one element", tok)
			}
			list = rest
		}
	})
}
