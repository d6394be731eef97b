package http1

import (
	"errors"
	"strings"
	"testing"
)

func TestParseResponseAndFraming(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		headReq bool
		status  int
		reason  string
		minor   int
		cl      int64
		chunked bool
		ka      bool
		framing Framing
	}{
		// Plain 200 with a length.
		{"200 cl", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, 200, "OK", 1, 5, false, true, FramingLength},
		// The same response to HEAD has no body.
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, 200, "OK", 1, 5, false, true, FramingNone},
		// Chunked, Connection: close.
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", false, 200, "OK", 1, -1, true, false, FramingChunked},
		// gzip then chunked is fine in a response: chunked frames it.
		{"gzip chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 200, "OK", 1, -1, true, true, FramingChunked},
		// chunked not final: read until close (RFC 9112 §6.3).
		{"chunked not final", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, 200, "OK", 1, -1, false, true, FramingClose},
		// Neither CL nor TE: until close.
		{"close delimited", "HTTP/1.0 200 OK\r\n\r\n", false, 200, "OK", 0, -1, false, false, FramingClose},
		// HTTP/1.0 keep-alive with a length.
		{"http10 ka", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false, 200, "OK", 0, 0, false, true, FramingNone},
		// 1xx, 204, 304 never have a body, even with a Content-Length.
		{"100", "HTTP/1.1 100 Continue\r\n\r\n", false, 100, "Continue", 1, -1, false, true, FramingNone},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false, 101, "Switching Protocols", 1, -1, false, true, FramingNone},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, "No Content", 1, -1, false, true, FramingNone},
		{"304 with cl", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", false, 304, "Not Modified", 1, 100, false, true, FramingNone},
		// Identical duplicate Content-Length is merged for responses.
		{"dup cl", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\n", false, 200, "OK", 1, 3, false, true, FramingLength},
		// Missing reason, with and without the SP.
		{"no reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, 404, "", 1, 0, false, true, FramingNone},
		{"no reason no sp", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false, 404, "", 1, 0, false, true, FramingNone},
		// Unusual status code and obs-text in the reason.
		{"999", "HTTP/1.1 999 W\xe9ird\r\n\r\n", false, 999, "W\xe9ird", 1, -1, false, true, FramingClose},
	}
	var r Response
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in + "body")
			n, err := ParseResponse(in, &r, 0)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tc.in) || r.HeadLen != n {
				t.Errorf("n = %d, want %d", n, len(tc.in))
			}
			if r.Status != tc.status || string(r.Reason) != tc.reason || r.Minor != tc.minor ||
				r.ContentLength != tc.cl || r.Chunked != tc.chunked || r.KeepAlive != tc.ka {
				t.Errorf("got %d %q minor=%d cl=%d chunked=%v ka=%v", r.Status, r.Reason, r.Minor, r.ContentLength, r.Chunked, r.KeepAlive)
			}
			if f := ResponseFraming(tc.headReq, &r); f != tc.framing {
				t.Errorf("framing %v, want %v", f, tc.framing)
			}
			// Every prefix of the head is incomplete.
			for k := 0; k < len(tc.in); k++ {
				if _, err := ParseResponse(in[:k], &r, 0); err != ErrIncomplete {
					t.Fatalf("prefix %d: %v", k, err)
				}
			}
		})
	}
}

func TestParseResponseReject(t *testing.T) {
	cases := []struct {
		name string
		in   string
		err  error
	}{
		{"TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrAmbiguousFraming},
		{"differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", ErrMultipleContentLength},
		{"bad CL", "HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n", ErrBadContentLength},
		{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", ErrBadTransferEncoding},
		{"status two digits", "HTTP/1.1 20 OK\r\n\r\n", ErrBadStatusLine},
		{"status 099", "HTTP/1.1 099 OK\r\n\r\n", ErrBadStatusLine},
		{"status four digits", "HTTP/1.1 2000 OK\r\n\r\n", ErrBadStatusLine},
		{"status letters", "HTTP/1.1 2x0 OK\r\n\r\n", ErrBadStatusLine},
		{"no space after version", "HTTP/1.1200 OK\r\n\r\n", ErrBadStatusLine},
		{"CTL in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", ErrBadStatusLine},
		{"version 2", "HTTP/2.0 200 OK\r\n\r\n", ErrBadVersion},
		{"version junk: not even the HTTP/ prefix", "HTTQ/1.1 200 OK\r\n\r\n", ErrBadStatusLine},
		{"version junk after the prefix", "HTTP/x.1 200 OK\r\n\r\n", ErrMalformedVersion},
		{"junk with no line end is rejected at once, not waited for", "garbage without a newline", ErrBadStatusLine},
		{"a partial prefix that cannot become HTTP/", "HT!", ErrBadStatusLine},
		{"bare LF status line", "HTTP/1.1 200 OK\n\r\n", ErrBareLF},
		{"bare LF header", "HTTP/1.1 200 OK\r\nA: b\n\r\n", ErrBareLF},
		{"obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", ErrObsFold},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n", ErrBadHeader},
		{"suspicious name", "HTTP/1.1 200 OK\r\nContent_Length: 3\r\n\r\n", ErrSuspiciousHeader},
	}
	var r Response
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseResponse([]byte(tc.in), &r, 0); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestParseResponseLimit(t *testing.T) {
	var r Response
	in := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n"
	if _, err := ParseResponse([]byte(in), &r, 64); err != ErrHeaderTooLarge {
		t.Fatalf("err = %v", err)
	}
	if _, err := ParseResponse([]byte(in[:70]), &r, 64); err != ErrHeaderTooLarge {
		t.Fatalf("incomplete: err = %v", err)
	}
	if _, err := ParseResponse([]byte("HTTP/1.1 200 "+strings.Repeat("a", 100)), &r, 64); err != ErrHeaderTooLarge {
		t.Fatalf("long status line: err = %v", err)
	}
	if _, err := ParseResponse([]byte(in), &r, 0); err != nil || string(r.Header("x")) != strings.Repeat("a", 100) {
		t.Fatalf("default limit: %v", err)
	}
}

func TestParseResponseZeroAlloc(t *testing.T) {
	in := []byte(benchResponse)
	var r Response
	if a := testing.AllocsPerRun(100, func() { _, _ = ParseResponse(in, &r, 0) }); a != 0 {
		t.Fatalf("allocs = %v", a)
	}
}
