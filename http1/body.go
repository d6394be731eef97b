package http1

// BodyFramer is the one body framer every relay path uses (loop and stream
// goroutine, request and response): it delimits a body as it arrives and
// says what to write in its place. A chunked body is re-framed, never
// forwarded verbatim: every data run goes out under a size line the framer
// writes itself (lower-case hex, no chunk extensions, no BWS), and the body
// ends with "0\r\n\r\n". Trailer fields are validated by Chunked and then
// dropped (RFC 9110 §6.5.1 lets a recipient discard them; see the README's
// "Trailers"), so framing-, routing- or auth-looking fields hidden in a
// trailer section never reach the next hop. A length- or close-delimited
// body is passed through as it comes (zero-copy).
//
// The zero value relays nothing (FramingNone, done at once); call Reset
// before each body. One value serves one body at a time; it is owned by
// whoever relays that body (loop only, or the stream goroutine after a
// hand-over).
type BodyFramer struct {
	in      Framing
	rechunk bool    // chunked in, chunked out: write our own framing
	left    int64   // FramingLength: bytes still to come
	data    int64   // data bytes delimited so far
	chunks  Chunked // FramingChunked: the decoder
	size    [18]byte
}

// Frame is what to write for one step, in order: Pre, Data, Post. Any of
// them may be empty. Data is a sub-slice of the input; Pre points into the
// framer and Post at static bytes, so a Frame must be written (or copied)
// before the next call to Next and never modified.
type Frame struct {
	Pre, Data, Post []byte
}

// Len is the number of bytes the frame writes.
func (f Frame) Len() int { return len(f.Pre) + len(f.Data) + len(f.Post) }

// AppendTo appends the frame's bytes to dst.
func (f Frame) AppendTo(dst []byte) []byte {
	dst = append(dst, f.Pre...)
	dst = append(dst, f.Data...)
	return append(dst, f.Post...)
}

// Static tails of a re-chunked body.
var (
	crlf          = []byte("\r\n")
	crlfLastChunk = []byte("\r\n0\r\n\r\n")
	lastChunk     = crlfLastChunk[2:]
)

// Reset makes f ready for a body delimited by in: length is the
// Content-Length for FramingLength (ignored otherwise). rechunk asks for
// chunked output and applies to a chunked input only; otherwise only the
// payload is written (de-chunking, for an HTTP/1.0 client).
func (f *BodyFramer) Reset(in Framing, length int64, rechunk bool) {
	*f = BodyFramer{in: in, rechunk: rechunk && in == FramingChunked}
	if in == FramingLength {
		f.left = length
	}
}

// Framing reports the input framing given to Reset.
func (f *BodyFramer) Framing() Framing { return f.in }

// Received reports the payload bytes delimited so far (chunk data, not
// framing).
func (f *BodyFramer) Received() int64 { return f.data }

// Committed reports the payload size the body has already committed to:
// what was received, plus the rest of a Content-Length or of the chunk
// whose size line was read. Checking it against a body limit refuses an
// oversized body before any byte past the limit is relayed.
func (f *BodyFramer) Committed() int64 {
	switch f.in {
	case FramingLength:
		return f.data + f.left
	case FramingChunked:
		return f.data + f.chunks.Pending()
	}
	return f.data
}

// Next consumes a prefix of p (n bytes) and returns what to write for it.
// done reports the end of the body: n then stops exactly there, leaving
// pipelined bytes in p[n:]. A FramingClose body is never done here; its end
// is the peer's close. A FramingNone body is done at once. On a framing
// error (from Chunked) err is set and nothing of the bad step is written;
// the body cannot continue. With len(p) > 0 and no error, n > 0 unless done.
func (f *BodyFramer) Next(p []byte) (n int, out Frame, done bool, err error) {
	switch f.in {
	case FramingLength:
		n = int(min(int64(len(p)), f.left))
		f.left -= int64(n)
		f.data += int64(n)
		return n, Frame{Data: p[:n]}, f.left == 0, nil
	case FramingClose:
		f.data += int64(len(p))
		return len(p), Frame{Data: p}, false, nil
	case FramingChunked:
		var data []byte
		n, data, done, err = f.chunks.Step(p)
		if err != nil {
			return n, Frame{}, false, err
		}
		f.data += int64(len(data))
		if !f.rechunk {
			return n, Frame{Data: data}, done, nil
		}
		out.Data = data
		if len(data) > 0 {
			out.Pre = f.sizeLine(len(data))
			out.Post = crlf
			if done {
				out.Post = crlfLastChunk
			}
		} else if done {
			out.Post = lastChunk
		}
		return n, out, done, nil
	}
	return 0, Frame{}, true, nil
}

// sizeLine writes "<hex n>\r\n" into f.size and returns it.
func (f *BodyFramer) sizeLine(n int) []byte {
	return append(appendHex(f.size[:0], uint64(n)), '\r', '\n')
}
