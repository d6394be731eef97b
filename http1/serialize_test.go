package http1

import "testing"

// TestSerializeRoundTrip writes a head with the serializers and parses it
// back.
func TestSerializeRoundTrip(t *testing.T) {
	b := AppendRequestLine(nil, []byte("POST"), []byte("/a?b=c"), 1)
	b = AppendHeader(b, []byte("Host"), []byte("up:8080"))
	b = AppendHeaderString(b, "Content-Length", "3")
	b = append(b, "\r\n"...)
	want := "POST /a?b=c HTTP/1.1\r\nHost: up:8080\r\nContent-Length: 3\r\n\r\n"
	if string(b) != want {
		t.Fatalf("got %q", b)
	}
	var r Request
	if _, err := ParseRequest(b, &r, nil); err != nil || r.ContentLength != 3 || string(r.Host) != "up:8080" {
		t.Fatalf("parse back: %v", err)
	}
	if s := string(AppendRequestLine(nil, []byte("GET"), []byte("/"), 0)); s != "GET / HTTP/1.0\r\n" {
		t.Fatalf("%q", s)
	}
	if a := testing.AllocsPerRun(100, func() {
		b = AppendHeaderString(AppendRequestLine(b[:0], []byte("GET"), []byte("/"), 1), "Host", "h")
	}); a != 0 {
		t.Fatalf("allocs %v", a)
	}
}
