package http1

import "errors"

// Error is a parse error that carries the HTTP status the gateway answers
// with. All sentinel errors of this package except ErrIncomplete are *Error
// values; compare with errors.Is, map to a status with StatusOf.
type Error struct {
	Status int    // HTTP status code to send, e.g. 400 or 431
	Msg    string // human-readable reason, returned by Error
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// ErrIncomplete reports that the buffer holds a prefix of a head that is
// still within limits: read more bytes and parse again. It is not an *Error
// because it is not a failure.
var ErrIncomplete = errors.New("http1: incomplete")

// Sentinel errors. The status in each is what an origin-facing gateway sends
// to the client for a malformed request. Errors returned by ParseResponse
// describe an upstream's fault; the engine answers those with 502 whatever
// the Status says.
var (
	// ErrHeaderTooLarge (431): the head exceeds MaxHeaderBytes (or a
	// chunked trailer section exceeds 32 KiB).
	ErrHeaderTooLarge = &Error{431, "http1: header section too large"}
	// ErrTooManyHeaders (431): more than MaxHeaders fields.
	ErrTooManyHeaders = &Error{431, "http1: too many header fields"}
	// ErrURITooLong (414): the request-target exceeds MaxURIBytes.
	ErrURITooLong = &Error{414, "http1: request-target too long"}
	// ErrBadRequestLine (400): not method SP target SP version, e.g. a
	// method that is not a token, two spaces, or too many leading empty
	// lines.
	ErrBadRequestLine = &Error{400, "http1: malformed request line"}
	// ErrBadVersion (505): a well-formed HTTP/x.y other than 1.0 and 1.1
	// with x >= 1.
	ErrBadVersion = &Error{505, "http1: unsupported HTTP version"}
	// ErrMalformedVersion (400): anything else in the version position,
	// including "HTTP/0.9", lower case and trailing whitespace.
	ErrMalformedVersion = &Error{400, "http1: malformed HTTP version"}
	// ErrBadStatusLine (502): a response status line that is not
	// version SP 3DIGIT [SP reason].
	ErrBadStatusLine = &Error{502, "http1: malformed status line"}
	// ErrBadHeader (400): a field name that is not a token, whitespace
	// before the colon, a CTL (other than HTAB) in a value, a bare CR.
	ErrBadHeader = &Error{400, "http1: malformed header field"}
	// ErrSuspiciousHeader (400): a valid token that imitates
	// Content-Length or Transfer-Encoding ("Transfer_Encoding").
	ErrSuspiciousHeader = &Error{400, "http1: header name imitates a framing header"}
	// ErrObsFold (400): a field line continued on the next line.
	ErrObsFold = &Error{400, "http1: obsolete line folding"}
	// ErrBareLF (400): a line ending in LF without CR.
	ErrBareLF = &Error{400, "http1: bare LF line ending"}

	// ErrBadContentLength (400): not 1*DIGIT, or too large for int64.
	ErrBadContentLength = &Error{400, "http1: malformed Content-Length"}
	// ErrMultipleContentLength (400): Content-Length values that differ.
	ErrMultipleContentLength = &Error{400, "http1: multiple differing Content-Length values"}
	// ErrDuplicateContentLength (400): an identical repeated
	// Content-Length in a request, unless Limits.AllowDuplicateContentLength.
	ErrDuplicateContentLength = &Error{400, "http1: duplicate Content-Length"}
	// ErrAmbiguousFraming (400): both Content-Length and Transfer-Encoding.
	ErrAmbiguousFraming = &Error{400, "http1: both Content-Length and Transfer-Encoding"}
	// ErrBadTransferEncoding (400): malformed list, chunked twice, chunked
	// not final (requests), parameters on chunked, or TE in HTTP/1.0.
	ErrBadTransferEncoding = &Error{400, "http1: malformed Transfer-Encoding"}
	// ErrUnsupportedTransferEncoding (501): a well-formed request whose
	// codings include one other than chunked.
	ErrUnsupportedTransferEncoding = &Error{501, "http1: unsupported transfer coding"}
	// ErrUnexpectedBody (400): GET or HEAD with Content-Length > 0 or
	// Transfer-Encoding, unless Limits.AllowGETBody.
	ErrUnexpectedBody = &Error{400, "http1: GET or HEAD request with a body"}

	// ErrMissingHost (400): an HTTP/1.1 request without Host.
	ErrMissingHost = &Error{400, "http1: missing Host header"}
	// ErrDuplicateHost (400): more than one Host field.
	ErrDuplicateHost = &Error{400, "http1: duplicate Host header"}
	// ErrBadHost (400): a Host value that is not uri-host [":" port].
	ErrBadHost = &Error{400, "http1: malformed Host"}
	// ErrBadTarget (400): a request-target with bytes outside visible
	// ASCII, a '#', or a form the method does not allow.
	ErrBadTarget = &Error{400, "http1: malformed request-target"}
	// ErrBadChunk (400): malformed chunked framing.
	ErrBadChunk = &Error{400, "http1: malformed chunked body"}
	// ErrChunkTooLarge (400): a chunk size of 2^63 or more, which no
	// signed 64-bit length can hold (nginx draws the same line).
	ErrChunkTooLarge = &Error{400, "http1: chunk size too large"}
)

// StatusOf maps an error to the HTTP status to answer with: an *Error's
// Status (also when wrapped with %w), 400 for any other non-nil error
// (ErrIncomplete included), and 200 for nil.
func StatusOf(err error) int {
	if err == nil {
		return 200
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 400
}
