package http1

import (
	"bytes"
	"testing"
	"time"
)

// benchRequest is a typical browser-ish API GET: ~300 bytes, 8 fields.
const benchRequest = "GET /api/v1/users/12345/orders?limit=20&offset=40 HTTP/1.1\r\n" +
	"Host: api.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/124.0\r\n" +
	"Accept: application/json\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc\r\n" +
	"Connection: keep-alive\r\n" +
	"X-Request-ID: 7f3e9a2c-1b4d-4e8f-9a6b-2c5d8e1f0a3b\r\n" +
	"\r\n"

const benchResponse = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json; charset=utf-8\r\n" +
	"Content-Length: 1234\r\n" +
	"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" +
	"Cache-Control: no-store\r\n" +
	"Vary: Accept-Encoding\r\n" +
	"X-Request-ID: 7f3e9a2c-1b4d-4e8f-9a6b-2c5d8e1f0a3b\r\n" +
	"\r\n"

// benchChunkedBody is 16 KiB of data in 4 KiB chunks plus a small one.
func benchChunkedBody() []byte {
	var b []byte
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 256)
	for i := 0; i < 4; i++ {
		b = AppendChunk(b, chunk)
	}
	b = AppendChunk(b, []byte("tail"))
	return AppendLastChunk(b)
}

func BenchmarkParseRequest(b *testing.B) {
	in := []byte(benchRequest)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseRequest(in, &r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	in := []byte(benchResponse)
	var r Response
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseResponse(in, &r, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunked(b *testing.B) {
	in := benchChunkedBody()
	var c Chunked
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		c.Reset()
		p := in
		for len(p) > 0 {
			n, _, done, err := c.Step(p)
			if err != nil {
				b.Fatal(err)
			}
			p = p[n:]
			if done {
				break
			}
		}
	}
}

// BenchmarkChunkedSmall measures framing overhead: many tiny chunks.
func BenchmarkChunkedSmall(b *testing.B) {
	var in []byte
	for i := 0; i < 64; i++ {
		in = AppendChunk(in, []byte("hello, world"))
	}
	in = AppendLastChunk(in)
	var c Chunked
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		c.Reset()
		p := in
		for len(p) > 0 {
			n, _, done, err := c.Step(p)
			if err != nil {
				b.Fatal(err)
			}
			p = p[n:]
			if done {
				break
			}
		}
	}
}

func BenchmarkDateCache(b *testing.B) {
	var d DateCache
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		d.Get(now)
	}
}

// BenchmarkBodyFramer re-chunks the same body BenchmarkChunked decodes:
// the cost of writing our own size lines on top of decoding.
func BenchmarkBodyFramer(b *testing.B) {
	in := benchChunkedBody()
	var f BodyFramer
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		f.Reset(FramingChunked, -1, true)
		for p := in; len(p) > 0; {
			n, _, done, err := f.Next(p)
			if err != nil {
				b.Fatal(err)
			}
			p = p[n:]
			if done {
				break
			}
		}
	}
}
