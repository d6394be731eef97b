package engine

import (
	"crypto/sha256"
	"hash"
	"strconv"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

// teeFilter is a cache fill in miniature: it watches every response body
// (filter.Response.WatchBody) and records its hash when the body ends.
type teeFilter struct {
	mu   sync.Mutex
	sums []string
}

type teeBody struct {
	f *teeFilter
	h hash.Hash
}

func (t *teeBody) Transform(chunk []byte, end bool) ([]byte, error) {
	t.h.Write(chunk)
	if end {
		t.f.mu.Lock()
		t.f.sums = append(t.f.sums, string(t.h.Sum(nil)))
		t.f.mu.Unlock()
	}
	return chunk, nil
}

func (t *teeBody) Release() {}

func (f *teeFilter) Request(*filter.Exchange) filter.Verdict { return filter.Continue }

func (f *teeFilter) ResponseHead(_ *filter.Exchange, resp *filter.Response) filter.Verdict {
	resp.WatchBody(&teeBody{f: f, h: sha256.New()}) // a test: allocating is fine
	return filter.Continue
}

var tees = struct {
	sync.Mutex
	last *teeFilter
}{}

func init() {
	filter.Register(filter.Type{Name: "test_tee", Decode: func(*config.Middleware) error { return nil },
		Build: func(*config.Middleware) (filter.Filter, error) {
			f := &teeFilter{}
			tees.Lock()
			tees.last = f
			tees.Unlock()
			return f, nil
		}})
}

// TestWatchBodyKeepsFraming: a tee sees every body byte, and the client
// gets the upstream's framing: Content-Length kept (a body gathered whole
// and passed through the worker), chunked re-chunked; behind it
// compress still encodes, since transforms compose in reverse route order.
func TestWatchBodyKeepsFraming(t *testing.T) {
	doc := jsonDoc(t)
	up := squeezeUpstream(t, doc)
	g := startGateway(t, oneCluster(up.addr, "middleware:\n  tee: {type: test_tee}\n  squeeze: {type: compress, encodings: [gzip]}",
		"  - {name: t, match: {path: /c/*}, cluster: up, middleware: [tee]}\n  - {name: z, match: {path: /z/*}, cluster: up, middleware: [tee, squeeze], strip_prefix: /z}\n"), 1)
	tees.Lock()
	tee := tees.last
	tees.Unlock()
	c := dialRaw(t, g.addr)
	for _, path := range []string{"/c/length", "/c/chunked"} {
		c.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, body := c.readResponse("GET")
		if body != string(doc) || resp.Close {
			t.Fatalf("%s: %d bytes, close %v", path, len(body), resp.Close)
		}
		if path == "/c/length" && resp.Header.Get("Content-Length") != strconv.Itoa(len(doc)) {
			t.Fatalf("%s: Content-Length %q, want the upstream's", path, resp.Header.Get("Content-Length"))
		}
		if path == "/c/chunked" && len(resp.TransferEncoding) != 1 {
			t.Fatalf("%s: Transfer-Encoding %v", path, resp.TransferEncoding)
		}
	}
	// tee first in route order: it sees what compress made of the body.
	c.send("GET /z/c/length HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n")
	resp, gz := c.readResponse("GET")
	if resp.Header.Get("Content-Encoding") != "gzip" || string(decodeAs(t, "gzip", []byte(gz))) != string(doc) {
		t.Fatalf("tee + compress: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	want := sha256.Sum256(doc)
	wantGz := sha256.Sum256([]byte(gz))
	var sums []string
	eventually(t, 2e9, "the tee saw three bodies end", func() bool {
		tee.mu.Lock()
		defer tee.mu.Unlock()
		sums = append(sums[:0], tee.sums...)
		return len(sums) == 3
	})
	if sums[0] != string(want[:]) || sums[1] != string(want[:]) || sums[2] != string(wantGz[:]) {
		t.Fatal("the tee saw other bytes than the client got")
	}
}
