package main

import "testing"

func testServer() *server {
	s := &server{routes: map[string]*response{
		"/":       newResponse(200, "text/plain", defaultBody(12)),
		"/4k.bin": newResponse(200, "application/octet-stream", make([]byte, 4096)),
	}}
	s.svc = s.routes["/"]
	s.notFound = newResponse(404, "text/plain", []byte("not found\n"))
	return s
}

func TestLookup(t *testing.T) {
	s := testServer()
	tests := []struct {
		path string
		want *response
	}{
		{"/", s.routes["/"]},
		{"/4k.bin", s.routes["/4k.bin"]},
		{"/svc0/items/1", s.svc},       // first route of the scenario
		{"/svc99/items/12345", s.svc},  // last route
		{"/svc123456/", s.svc},         // any digit count
		{"/svc/items/1", s.notFound},   // no digits
		{"/svc1", s.notFound},          // no slash after the digits
		{"/svc1x/items/1", s.notFound}, // a non-digit before the slash
		{"/svcs/1/", s.notFound},
		{"/other", s.notFound},
		{"/SVC1/items/1", s.notFound}, // case-sensitive, like the routes
		{"", s.notFound},
	}
	for _, tt := range tests {
		if got := s.lookup([]byte(tt.path)); got != tt.want {
			t.Errorf("lookup(%q) = %p, want %p", tt.path, got, tt.want)
		}
	}
}

// The upstream must not allocate per request, or it would add GC noise to
// every target's numbers.
func TestLookupAllocs(t *testing.T) {
	s := testServer()
	paths := [][]byte{[]byte("/"), []byte("/svc42/items/7"), []byte("/nope")}
	if n := testing.AllocsPerRun(1000, func() {
		for _, p := range paths {
			s.lookup(p)
		}
	}); n != 0 {
		t.Fatalf("lookup allocates %.1f times per run, want 0", n)
	}
}
