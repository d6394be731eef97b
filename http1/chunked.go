package http1

// Bounds on the chunked framing, so a peer cannot make us scan forever
// without producing data.
const (
	maxChunkLine    = 4 << 10  // chunk-size line including extensions
	maxTrailerBytes = 32 << 10 // whole trailer section
	maxSizeDigits   = 16       // 16 hex digits fill a uint64
	// maxChunkSize is the largest chunk size taken: a size must fit a
	// signed 64-bit length, as in nginx (which refuses sizes of 2^63 and
	// up), so no consumer has to guard a conversion to int64.
	maxChunkSize = 1<<63 - 1
)

// Decoder states. Each names what the next byte must be.
const (
	csSize           uint8 = iota // first hex digit of a chunk size
	csSizeMore                    // more hex digits, ';', BWS or CR
	csExtBWS                      // BWS before ';'
	csExtName0                    // BWS, then the first char of an extension name
	csExtName                     // extension name chars, BWS, '=', ';' or CR
	csExtNameWS                   // BWS after a name: '=' or ';'
	csExtVal0                     // BWS, then a token or '"'
	csExtValTok                   // token value chars, BWS, ';' or CR
	csExtQuoted                   // inside a quoted-string value
	csExtQuotedEsc                // after '\' inside a quoted-string
	csExtAfterQuoted              // after the closing '"': BWS, ';' or CR
	csSizeLF                      // LF ending the size line
	csData                        // chunk data
	csDataCR                      // CR after chunk data
	csDataLF                      // LF after chunk data
	csTrailer0                    // start of a trailer line, or CR of the final empty line
	csTrailerName                 // trailer field name chars or ':'
	csTrailerValue                // trailer value chars or CR
	csTrailerLF                   // LF ending a trailer line
	csFinalLF                     // LF ending the message
	csDone                        // message complete
	csErr                         // failed; err holds why
)

// Chunked decodes (or just delimits) a chunked message body (RFC 9112 §7.1)
// incrementally. It keeps all state between calls and never needs
// look-ahead, so input may be split anywhere, down to one byte per call.
// The zero value is ready to decode a new body; one value serves one body
// at a time (loop only).
type Chunked struct {
	rem      uint64 // data bytes left in the current chunk; size while parsing
	line     int    // bytes of the current size line
	trailer  int    // bytes of the trailer section so far
	digits   uint8  // hex digits seen in the current size
	state    uint8
	trailers bool
	err      error
}

// Reset makes c ready for a new body.
func (c *Chunked) Reset() { *c = Chunked{} }

// Trailers reports whether the body had trailer fields (so far).
func (c *Chunked) Trailers() bool { return c.trailers }

// Done reports whether the whole body, trailers included, was consumed.
func (c *Chunked) Done() bool { return c.state == csDone }

// Pending reports the data bytes the current chunk's size line announced
// and that have not arrived yet: 0 between chunks. A caller enforcing a body
// limit adds it to the data seen so far, so an oversized chunk is refused
// as soon as its size line is read, before any of its data is relayed.
func (c *Chunked) Pending() int64 {
	if c.state != csData {
		return 0
	}
	return int64(c.rem) // at most maxChunkSize
}

// Step consumes a prefix of p. n is the number of bytes consumed; data is
// the chunk payload within p[:n] (a sub-slice of p, possibly empty). One
// call returns at most one contiguous payload run, so callers loop:
//
//	for len(p) > 0 && !done { n, data, done, err = c.Step(p); ...; p = p[n:] }
//
// done reports that the last chunk, trailers and final CRLF have been
// consumed; n then stops exactly at the end of the message, leaving any
// pipelined bytes in p[n:]. A proxy forwards p[:n] verbatim to keep the
// chunked framing, or only data to de-chunk. On malformed input err is
// non-nil (ErrBadChunk, ErrBareLF, ErrChunkTooLarge for a size past
// 2^63-1, or ErrHeaderTooLarge for oversized trailers) and stays so for later calls; n and data still describe the
// bytes before the bad one.
func (c *Chunked) Step(p []byte) (n int, data []byte, done bool, err error) {
	if c.state == csErr {
		return 0, nil, false, c.err
	}
	got := false
	i := 0
	for i < len(p) {
		if c.state == csData {
			if got {
				break // leave the next run for the next call
			}
			k := uint64(len(p) - i)
			if k > c.rem {
				k = c.rem
			}
			data = p[i : i+int(k)]
			got = true
			i += int(k)
			if c.rem -= k; c.rem == 0 {
				c.state = csDataCR
			}
			continue
		}
		if c.state == csDone {
			break
		}
		if !c.step(p[i]) {
			return i, data, false, c.err
		}
		i++
	}
	return i, data, c.state == csDone, nil
}

// step advances the framing state machine by one byte outside chunk data.
// It returns false after recording an error.
func (c *Chunked) step(b byte) bool {
	switch c.state {
	case csSize, csSizeMore, csExtBWS, csExtName0, csExtName, csExtNameWS,
		csExtVal0, csExtValTok, csExtQuoted, csExtQuotedEsc, csExtAfterQuoted:
		if c.line++; c.line > maxChunkLine {
			return c.fail(b)
		}
	case csTrailer0, csTrailerName, csTrailerValue, csTrailerLF, csFinalLF:
		if c.trailer++; c.trailer > maxTrailerBytes {
			c.state, c.err = csErr, ErrHeaderTooLarge
			return false
		}
	}
	switch c.state {
	case csSize, csSizeMore:
		if v := hexVal[b]; v != 0xff {
			if c.digits++; c.digits > maxSizeDigits {
				return c.fail(b)
			}
			if c.rem > (maxChunkSize-uint64(v))>>4 {
				c.state, c.err = csErr, ErrChunkTooLarge
				return false
			}
			c.rem = c.rem<<4 | uint64(v)
			c.state = csSizeMore
			return true
		}
		if c.state == csSize {
			return c.fail(b) // a size needs at least one digit
		}
		return c.afterValue(b, csExtBWS)
	case csExtBWS:
		switch {
		case isOWS(b):
		case b == ';':
			c.state = csExtName0
		default:
			return c.fail(b)
		}
	case csExtName0:
		switch {
		case isOWS(b):
		case isToken(b):
			c.state = csExtName
		default:
			return c.fail(b)
		}
	case csExtName:
		switch {
		case isToken(b):
		case b == '=':
			c.state = csExtVal0
		default:
			return c.afterValue(b, csExtNameWS)
		}
	case csExtNameWS:
		switch {
		case isOWS(b):
		case b == '=':
			c.state = csExtVal0
		case b == ';':
			c.state = csExtName0
		default:
			return c.fail(b)
		}
	case csExtVal0:
		switch {
		case isOWS(b):
		case b == '"':
			c.state = csExtQuoted
		case isToken(b):
			c.state = csExtValTok
		default:
			return c.fail(b)
		}
	case csExtValTok:
		if !isToken(b) {
			return c.afterValue(b, csExtBWS)
		}
	case csExtQuoted:
		switch {
		case b == '"':
			c.state = csExtAfterQuoted
		case b == '\\':
			c.state = csExtQuotedEsc
		case class[b]&cQd == 0:
			return c.fail(b)
		}
	case csExtQuotedEsc:
		if class[b]&cValue == 0 {
			return c.fail(b)
		}
		c.state = csExtQuoted
	case csExtAfterQuoted:
		return c.afterValue(b, csExtBWS)
	case csSizeLF:
		if b != '\n' {
			return c.fail(b)
		}
		c.line, c.digits = 0, 0
		if c.rem == 0 {
			c.state = csTrailer0
		} else {
			c.state = csData
		}
	case csDataCR:
		if b != '\r' {
			return c.fail(b)
		}
		c.state = csDataLF
	case csDataLF:
		if b != '\n' {
			return c.fail(b)
		}
		c.state = csSize
	case csTrailer0:
		switch {
		case b == '\r':
			c.state = csFinalLF
		case isToken(b):
			c.trailers = true
			c.state = csTrailerName
		default:
			return c.fail(b) // obs-fold, empty name, bare LF, ...
		}
	case csTrailerName:
		switch {
		case isToken(b):
		case b == ':':
			c.state = csTrailerValue
		default:
			return c.fail(b)
		}
	case csTrailerValue:
		switch {
		case b == '\r':
			c.state = csTrailerLF
		case class[b]&cValue == 0:
			return c.fail(b)
		}
	case csTrailerLF:
		if b != '\n' {
			return c.fail(b)
		}
		c.state = csTrailer0
	case csFinalLF:
		if b != '\n' {
			return c.fail(b)
		}
		c.state = csDone
	default:
		return c.fail(b)
	}
	return true
}

// afterValue handles the bytes that may follow a size, an extension name or
// an extension value: CR ends the line, ';' starts another extension and
// whitespace moves to ws.
func (c *Chunked) afterValue(b byte, ws uint8) bool {
	switch {
	case b == '\r':
		c.state = csSizeLF
	case b == ';':
		c.state = csExtName0
	case isOWS(b):
		c.state = ws
	default:
		return c.fail(b)
	}
	return true
}

func (c *Chunked) fail(b byte) bool {
	c.state, c.err = csErr, ErrBadChunk
	if b == '\n' {
		c.err = ErrBareLF
	}
	return false
}

// AppendChunk appends data as one chunk: hex size, CRLF, data, CRLF. Empty
// data appends nothing, because a zero-size chunk would end the body; use
// AppendLastChunk for that.
func AppendChunk(dst, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	dst = appendHex(dst, uint64(len(data)))
	dst = append(dst, '\r', '\n')
	dst = append(dst, data...)
	return append(dst, '\r', '\n')
}

// appendHex appends n in lower-case hex without leading zeros ("0" for 0).
func appendHex(dst []byte, n uint64) []byte {
	const hexDigits = "0123456789abcdef"
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = hexDigits[n&0xf]
		if n >>= 4; n == 0 {
			break
		}
	}
	return append(dst, tmp[i:]...)
}

// AppendLastChunk appends the last chunk and the empty trailer section,
// "0\r\n\r\n", which ends a chunked body.
func AppendLastChunk(dst []byte) []byte {
	return append(dst, "0\r\n\r\n"...)
}
