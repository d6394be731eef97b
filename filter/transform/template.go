package transform

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// A template is a header or query value with placeholders, compiled at
// Build into segments so that rendering is a walk that appends:
//
//	{params.NAME}   the route's path parameter NAME ("*" for a bare /*), percent-decoded
//	{claims.NAME}   the JWT claim NAME (flat: a dotted or URL name is one claim)
//	{consumer}      the API-key consumer     {subject}     the JWT subject
//	{client_ip}     the client address       {request_id}  the request ID
//	{header.NAME}   the client's first NAME header, as received
//	{query.NAME}    the client's first NAME query parameter, form-decoded
//
// Everything else is literal; "{{" and "}}" are a literal brace.
// Placeholders read the request as the client sent it and what earlier
// filters set (claims, consumer, subject), not other transforms' edits.
type template struct {
	segs     []segment
	identity bool // every placeholder is verified identity (claims, consumer, subject)
	claims   bool // reads claims
}

// segment is a literal or one placeholder.
type segment struct {
	src  source
	name string // the placeholder's NAME
	lit  []byte // srcLiteral: the text as is
	litQ []byte // srcLiteral: the text percent-encoded for a query
}

type source uint8

const (
	srcLiteral source = iota
	srcParam
	srcClaim
	srcConsumer
	srcSubject
	srcClientIP
	srcRequestID
	srcHeader
	srcQuery
)

// placeholders maps a placeholder's kind (before the dot, or the whole
// name) to its source; named tells whether it takes a NAME.
var placeholders = map[string]struct {
	src   source
	named bool
}{
	"params": {srcParam, true}, "claims": {srcClaim, true}, "header": {srcHeader, true}, "query": {srcQuery, true},
	"consumer": {srcConsumer, false}, "subject": {srcSubject, false},
	"client_ip": {srcClientIP, false}, "request_id": {srcRequestID, false},
}

// placeholderList is for error messages.
const placeholderList = "{params.NAME}, {claims.NAME}, {consumer}, {subject}, {client_ip}, {request_id}, {header.NAME}, {query.NAME}"

// parseTemplate compiles s. Errors name the byte offset in s.
func parseTemplate(s string) (template, error) {
	t := template{identity: true}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			v := lit.String()
			t.segs = append(t.segs, segment{lit: []byte(v), litQ: appendText(nil, v, inQuery)})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && strings.HasPrefix(s[i:], "{{"), c == '}' && strings.HasPrefix(s[i:], "}}"):
			lit.WriteByte(c)
			i++
		case c == '}':
			return t, fmt.Errorf("a lone '}' at byte %d (write }} for a literal brace)", i)
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return t, fmt.Errorf("'{' at byte %d is not closed (write {{ for a literal brace)", i)
			}
			seg, err := parsePlaceholder(s[i+1 : i+end])
			if err != nil {
				return t, fmt.Errorf("{%s} at byte %d: %w", s[i+1:i+end], i, err)
			}
			flush()
			t.segs = append(t.segs, seg)
			t.identity = t.identity && (seg.src == srcClaim || seg.src == srcConsumer || seg.src == srcSubject)
			t.claims = t.claims || seg.src == srcClaim
			i += end
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

func parsePlaceholder(p string) (segment, error) {
	kind, name, dotted := strings.Cut(p, ".")
	ph, ok := placeholders[kind]
	switch {
	case !ok:
		return segment{}, fmt.Errorf("unknown placeholder (known: %s)", placeholderList)
	case ph.named && (!dotted || name == ""):
		return segment{}, fmt.Errorf("needs a name: {%s.NAME}", kind)
	case !ph.named && dotted:
		return segment{}, fmt.Errorf("{%s} takes no name", kind)
	case ph.src == srcHeader && !http1.IsFieldName(name):
		return segment{}, fmt.Errorf("%q is not a header name", name)
	case strings.ContainsAny(name, "{"):
		return segment{}, fmt.Errorf("a name cannot hold '{'")
	}
	return segment{src: ph.src, name: name}, nil
}

// encoding is where a rendered value goes.
type encoding uint8

const (
	inHeader encoding = iota // as is (AppendUpstreamHeader refuses control bytes)
	inQuery                  // percent-encoded, all but RFC 3986 unreserved
)

// render appends the template's value to dst. ok is false when a
// placeholder names a value the request does not have (no such claim,
// parameter, header; no consumer; a claim that is null, an object or an
// array), and the caller then sends no header or parameter. Request phase;
// no allocation.
func (t *template) render(dst []byte, x *filter.Exchange, enc encoding) ([]byte, bool) {
	for i := range t.segs {
		s := &t.segs[i]
		var ok bool
		if dst, ok = s.render(dst, x, enc); !ok {
			return dst, false
		}
	}
	return dst, true
}

func (s *segment) render(dst []byte, x *filter.Exchange, enc encoding) ([]byte, bool) {
	var v []byte
	switch s.src {
	case srcLiteral:
		if enc == inQuery {
			return append(dst, s.litQ...), true
		}
		return append(dst, s.lit...), true
	case srcClaim:
		return appendClaim(dst, x.Claims[s.name], enc)
	case srcClientIP:
		if !x.ClientIP.IsValid() {
			return dst, false
		}
		var buf [len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")]byte
		return appendText(dst, x.ClientIP.AppendTo(buf[:0]), enc), true
	case srcParam:
		if x.Params != nil {
			v = x.Params.Get(s.name)
		}
		return appendDecoded(dst, v, false, enc), v != nil
	case srcQuery:
		if x.Req != nil {
			v, _ = queryParam(x.Req.Query, s.name)
		}
		return appendDecoded(dst, v, true, enc), v != nil
	case srcHeader:
		if x.Req != nil {
			v = x.Req.Header(s.name)
		}
		return appendText(dst, v, enc), v != nil
	case srcConsumer:
		v = x.Consumer
	case srcSubject:
		v = x.Subject
	case srcRequestID:
		v = x.RequestID
	}
	return appendText(dst, v, enc), len(v) > 0
}

// appendClaim renders a claim: strings as they are, numbers in plain
// decimal, booleans as true/false (auth.AppendClaim's text, which jwt's
// claims_to_headers uses too). Null, objects and arrays have no one text
// form a header could carry unambiguously: they count as missing.
func appendClaim(dst []byte, v any, enc encoding) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return appendText(dst, v, enc), true
	case json.Number, float64, bool: // digits, '-', '.', letters: nothing to encode
		return auth.AppendClaim(dst, v)
	}
	return dst, false
}

// appendText appends s, percent-encoded for a query.
func appendText[T ~string | ~[]byte](dst []byte, s T, enc encoding) []byte {
	if enc == inHeader {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		dst = appendQueryByte(dst, s[i])
	}
	return dst
}

// appendDecoded appends src with its %XX escapes (and, form, '+' as a
// space) decoded, then encoded for enc. A malformed escape stays as it is.
func appendDecoded(dst, src []byte, form bool, enc encoding) []byte {
	for i := 0; i < len(src); {
		var c byte
		c, i = decodeAt(src, i, form)
		if enc == inQuery {
			dst = appendQueryByte(dst, c)
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// decodeAt decodes the byte at src[i] (a %XX escape, '+' as a space when
// form, else the byte itself) and returns it with the index after it.
func decodeAt(src []byte, i int, form bool) (c byte, next int) {
	switch c = src[i]; {
	case c == '%' && i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]):
		return unhex(src[i+1])<<4 | unhex(src[i+2]), i + 3
	case c == '+' && form:
		return ' ', i + 1
	}
	return c, i + 1
}

const hexDigits = "0123456789ABCDEF"

// appendQueryByte appends c as is when it is unreserved (RFC 3986 §2.3),
// else as %XX.
func appendQueryByte(dst []byte, c byte) []byte {
	if isUnreserved(c) {
		return append(dst, c)
	}
	return append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
