// Package http1 parses and serializes HTTP/1.1 messages for the Sluice
// gateway.
//
// Everything here works over a borrowed []byte and does no I/O: the engine
// hands in the bytes it peeked from the event loop's buffer and gets back
// views (sub-slices) into them. Views die with the buffer, so a caller that
// needs a value after the callback returns must copy it.
//
// The parser is strict on purpose (RFC 9112, and DESIGN §5): an edge gateway
// that guesses at ambiguous framing lets an attacker make it disagree with the
// upstream about where a message ends (request smuggling). So obs-fold, bare
// CR or LF, whitespace before a colon, conflicting Content-Length values,
// Transfer-Encoding combined with Content-Length and similar inputs are
// rejected with an *Error that carries the status code to answer with.
//
// All functions are safe for concurrent use on distinct values; a Request,
// Response or Chunked value belongs to one goroutine (in the engine: one
// event loop) at a time.
package http1
