// Command upstream is the mock backend of the Sluice benchmark kit: a small,
// fast HTTP/1.1 server that answers from prebuilt byte slices.
//
// It is deliberately not net/http: one goroutine per connection, a bufio
// reader and writer, no allocation per request. Requests are keep-alive and
// may be pipelined; responses to a batch of pipelined requests leave in one
// write (the writer is flushed only when no further request is buffered).
// Request bodies are read and discarded (Content-Length or chunked).
//
// Paths:
//
//	/          the default body (-body bytes; 12 gives "hello world\n")
//	/4k.bin    4096 bytes
//	/64k.bin   65536 bytes
//	/64k.json  the -json file as application/json (bench/compress.sh
//	           serves testdata/64k.json); 404 without -json
//	/svc<digits>/...  the default body: the 100-route scenario's paths
//	           (/svc<i>/items/<n>); any path of that shape, so the route
//	           count can change without touching the upstream
//	other      404
//
// The same paths and sizes as the anchors' nginx upstream, so results compare.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sync/atomic"
	"time"
)

const (
	maxHeaderBytes = 16 << 10 // request line + headers
	bufSize        = 16 << 10
)

var (
	errTooLarge = errors.New("request head too large")
	errBadReq   = errors.New("bad request")
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "address to listen on (loopback only)")
	bodyLen := flag.Int("body", 12, "bytes of the default body served at / (12: \"hello world\\n\")")
	latency := flag.Duration("latency", 0, "delay added before each response (0: none)")
	status := flag.Int("status", 200, "status code of every known path")
	jsonFile := flag.String("json", "", "a file served at /64k.json as application/json (\"\": none)")
	flag.Parse()

	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		log.Fatalf("upstream: -listen must be a loopback address, got %q", *listen)
	}
	if *bodyLen < 0 || *status < 200 || *status > 999 {
		log.Fatal("upstream: -body must be >= 0 and -status a final status code (200-999)")
	}

	srv := &server{latency: *latency}
	srv.routes = map[string]*response{
		"/":        newResponse(*status, "text/plain", defaultBody(*bodyLen)),
		"/4k.bin":  newResponse(*status, "application/octet-stream", bytes.Repeat([]byte{'a'}, 4096)),
		"/64k.bin": newResponse(*status, "application/octet-stream", bytes.Repeat([]byte{'b'}, 65536)),
	}
	if *jsonFile != "" {
		b, err := os.ReadFile(*jsonFile)
		if err != nil {
			log.Fatalf("upstream: -json: %v", err)
		}
		srv.routes["/64k.json"] = newResponse(*status, "application/json", b)
	}
	srv.svc = srv.routes["/"]
	srv.notFound = newResponse(404, "text/plain", []byte("not found\n"))
	srv.date.Store(httpDate(time.Now()))
	go func() {
		for now := range time.Tick(time.Second) {
			srv.date.Store(httpDate(now))
		}
	}()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("upstream: %v", err)
	}
	log.Printf("upstream: listening on %s (body %d B, latency %v, status %d)", ln.Addr(), *bodyLen, *latency, *status)

	// No signal handling: SIGTERM's default action ends the process at once,
	// and there is nothing to flush or clean up.
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			log.Printf("upstream: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go srv.serve(c)
	}
}

func defaultBody(n int) []byte {
	const hello = "hello world\n"
	if n == len(hello) {
		return []byte(hello)
	}
	b := bytes.Repeat([]byte{'x'}, n)
	if n > 0 {
		b[n-1] = '\n'
	}
	return b
}

// response is one prebuilt answer: the head up to (not including) the Date
// header, and the body. Date and the final CRLF are added per write.
type response struct {
	head []byte // "HTTP/1.1 200 OK\r\nContent-Type: ..\r\nContent-Length: ..\r\n"
	body []byte
}

func newResponse(status int, ctype string, body []byte) *response {
	if status == 204 || status == 304 { // no body, no Content-Length
		return &response{head: []byte(fmt.Sprintf("HTTP/1.1 %d %s\r\nServer: sluice-bench-upstream\r\n", status, reason(status)))}
	}
	head := fmt.Sprintf("HTTP/1.1 %d %s\r\nServer: sluice-bench-upstream\r\nContent-Type: %s\r\nContent-Length: %d\r\n",
		status, reason(status), ctype, len(body))
	return &response{head: []byte(head), body: body}
}

func reason(code int) string {
	switch code {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 204:
		return "No Content"
	case 404:
		return "Not Found"
	case 500:
		return "Internal Server Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	}
	return "Status"
}

// httpDate returns "Date: <IMF-fixdate>\r\n".
func httpDate(t time.Time) *[]byte {
	b := []byte("Date: " + t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") + "\r\n")
	return &b
}

type server struct {
	routes   map[string]*response
	svc      *response // answer for /svc<digits>/...: the default body
	notFound *response
	latency  time.Duration
	date     atomic.Pointer[[]byte]
}

// request holds what the server needs from one parsed request head.
type request struct {
	path      []byte // the connection's path buffer; valid until the next request
	head      bool   // HEAD: no body in the response
	close     bool   // the connection closes after this response
	chunked   bool
	bodyBytes int64
}

func (s *server) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, bufSize)
	bw := bufio.NewWriterSize(c, bufSize)
	var req request
	pathBuf := make([]byte, 0, 128)
	for {
		if err := readHead(br, &req, &pathBuf); err != nil {
			if err == errTooLarge || err == errBadReq {
				bw.WriteString("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
				bw.Flush()
			}
			return
		}
		resp := s.lookup(req.path)
		if err := discardBody(br, &req); err != nil {
			return
		}
		if s.latency > 0 {
			if bw.Buffered() > 0 { // do not hold earlier answers back while sleeping
				if bw.Flush() != nil {
					return
				}
			}
			time.Sleep(s.latency)
		}
		bw.Write(resp.head)
		bw.Write(*s.date.Load())
		if req.close {
			bw.WriteString("Connection: close\r\n")
		}
		bw.WriteString("\r\n")
		if !req.head {
			bw.Write(resp.body)
		}
		// Flush once per batch of pipelined requests.
		if req.close || br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
		if req.close {
			return
		}
	}
}

// lookup returns the prebuilt answer for a request path. It allocates
// nothing (the map lookup with string(bytes) is optimised by the compiler).
func (s *server) lookup(path []byte) *response {
	if resp, ok := s.routes[string(path)]; ok {
		return resp
	}
	if isSvcPath(path) {
		return s.svc
	}
	return s.notFound
}

// isSvcPath reports whether p is "/svc" followed by one or more digits and
// a '/', the shape of the 100-route scenario's paths (/svc<i>/items/<n>).
// A byte loop: no allocation, no regexp.
func isSvcPath(p []byte) bool {
	const prefix = "/svc"
	if len(p) < len(prefix)+2 || string(p[:len(prefix)]) != prefix {
		return false
	}
	for i := len(prefix); i < len(p); i++ {
		switch c := p[i]; {
		case c == '/':
			return i > len(prefix) // at least one digit
		case c < '0' || c > '9':
			return false
		}
	}
	return false
}

// readHead parses the request line and headers. It allocates nothing.
func readHead(br *bufio.Reader, req *request, pathBuf *[]byte) error {
	*req = request{}
	total := 0
	line, err := readLine(br, &total)
	if err != nil {
		return err
	}
	for len(line) == 0 { // tolerate leading empty lines (RFC 9112 2.2)
		if line, err = readLine(br, &total); err != nil {
			return err
		}
	}
	// METHOD SP target SP HTTP/x.y
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return errBadReq
	}
	rest := line[sp1+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return errBadReq
	}
	method, target, proto := line[:sp1], rest[:sp2], rest[sp2+1:]
	req.head = string(method) == "HEAD"
	switch string(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		req.close = true // unless "Connection: keep-alive" below
	default:
		return errBadReq
	}
	if q := bytes.IndexByte(target, '?'); q >= 0 {
		target = target[:q]
	}
	// The path must survive the header reads below (a refill may move the
	// reader's buffer): copy it into the connection's reusable path buffer.
	*pathBuf = append((*pathBuf)[:0], target...)

	for {
		h, err := readLine(br, &total)
		if err != nil {
			return err
		}
		if len(h) == 0 {
			break
		}
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 {
			return errBadReq
		}
		name, val := h[:colon], bytes.TrimSpace(h[colon+1:])
		switch {
		case asciiEqualFold(name, "content-length"):
			n, ok := parseUint(val, 10)
			if !ok {
				return errBadReq
			}
			req.bodyBytes = n
		case asciiEqualFold(name, "transfer-encoding"):
			if !asciiEqualFold(val, "chunked") {
				return errBadReq
			}
			req.chunked = true
		case asciiEqualFold(name, "connection"):
			if asciiEqualFold(val, "close") {
				req.close = true
			} else if asciiEqualFold(val, "keep-alive") {
				req.close = false
			}
		}
	}
	if req.chunked && req.bodyBytes > 0 {
		return errBadReq // ambiguous framing
	}
	req.path = *pathBuf
	return nil
}

// readLine returns one CRLF- or LF-terminated line without its terminator.
func readLine(br *bufio.Reader, total *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*total += len(line)
	if err == bufio.ErrBufferFull || *total > maxHeaderBytes {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseUint parses a non-empty decimal or hex number below 2^40 without allocating.
func parseUint(b []byte, base int64) (int64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d int64
		switch {
		case '0' <= c && c <= '9':
			d = int64(c - '0')
		case base == 16 && 'a' <= c|0x20 && c|0x20 <= 'f':
			d = int64(c|0x20-'a') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// discardBody skips the request body (Content-Length or chunked).
func discardBody(br *bufio.Reader, req *request) error {
	if !req.chunked {
		if req.bodyBytes > 0 {
			_, err := br.Discard(int(req.bodyBytes))
			return err
		}
		return nil
	}
	total := 0
	for {
		line, err := readLine(br, &total)
		if err != nil {
			return err
		}
		total = 0
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, ok := parseUint(bytes.TrimSpace(line), 16)
		if !ok {
			return errBadReq
		}
		if size == 0 {
			for { // trailers up to the empty line
				t, err := readLine(br, &total)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		crlf, err := readLine(br, &total)
		if err != nil {
			return err
		}
		if len(crlf) != 0 {
			return errBadReq
		}
	}
}
