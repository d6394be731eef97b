package http1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// Differential test: ParseRequest + RequestFraming against Go's net/http on
// the same bytes, for the desync corpus, the ported cases and a generated
// set. Go's side is http.ReadRequest plus the checks net/http's server adds
// before a handler sees the request (server.go readRequest: version, Host
// presence and syntax, field name and value syntax), because that is the
// verdict a Go origin gives. Both verdicts must agree, and on acceptance so
// must method, target, version, Host, the other fields, framing, length and
// keep-alive, except where diffStricter or diffLenient documents why.

// diffView is one parser's reading of a request.
type diffView struct {
	ok        bool
	err       error
	method    string
	target    string
	minor     int
	host      string
	framing   Framing
	cl        int64 // only compared for FramingLength
	keepAlive bool
	headers   map[string][]string // canonical name -> values; Host and Transfer-Encoding left out
	// For a chunked request with bytes after the head: the decoded body,
	// or bodyErr when decoding fails.
	body    *string
	bodyErr error
}

// diffOurs reads in with ParseRequest and default limits.
func diffOurs(in []byte) diffView {
	var r Request
	n, err := ParseRequest(in, &r, nil)
	if err != nil {
		return diffView{err: err}
	}
	v := diffView{ok: true, method: string(r.Method), target: string(r.Target), minor: r.Minor,
		host: string(r.Host), framing: RequestFraming(&r), cl: r.ContentLength, keepAlive: r.KeepAlive,
		headers: map[string][]string{}}
	for _, h := range r.Headers {
		k := textproto.CanonicalMIMEHeaderKey(string(h.Name))
		if k == "Host" || k == "Transfer-Encoding" {
			continue
		}
		v.headers[k] = append(v.headers[k], string(h.Value))
	}
	if v.framing == FramingChunked && n < len(in) {
		var ch Chunked
		var got []byte
		rest := in[n:]
		for len(rest) > 0 && !ch.Done() && v.bodyErr == nil {
			k, data, _, err := ch.Step(rest)
			got, rest, v.bodyErr = append(got, data...), rest[k:], err
		}
		if v.bodyErr == nil && !ch.Done() {
			v.bodyErr = errors.New("truncated")
		}
		if v.bodyErr == nil {
			s := string(got)
			v.body = &s
		}
	}
	return v
}

// diffStd reads in as a net/http server would.
func diffStd(in []byte) diffView {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
	if err != nil {
		return diffView{err: err}
	}
	// server.go: http1ServerSupportsRequest.
	if req.ProtoMajor != 1 && !(req.ProtoMajor == 2 && req.ProtoMinor == 0 && req.Method == "PRI" && req.RequestURI == "*") {
		return diffView{err: errors.New("net/http server: 505 unsupported protocol version")}
	}
	// http.ReadRequest moves Host out of req.Header (the server's internal
	// reader keeps it there), so look for the field in the raw head.
	hosts := diffRawHosts(in)
	if req.ProtoAtLeast(1, 1) && len(hosts) == 0 && req.Method != "CONNECT" &&
		!(req.Method == "PRI" && req.RequestURI == "*") {
		return diffView{err: errors.New("net/http server: missing required Host header")}
	}
	if len(hosts) == 1 && !diffGoValidHost(hosts[0]) {
		return diffView{err: errors.New("net/http server: malformed Host header")}
	}
	for k, vv := range req.Header {
		if !diffIsToken(k) {
			return diffView{err: errors.New("net/http server: invalid header name")}
		}
		for _, x := range vv {
			// httpguts.ValidHeaderFieldValue: no CTL but HTAB, no DEL,
			// obs-text allowed; the same byte set as our validValue.
			if !validValue([]byte(x)) {
				return diffView{err: errors.New("net/http server: invalid header value")}
			}
		}
	}
	v := diffView{ok: true, method: req.Method, target: req.RequestURI, minor: req.ProtoMinor,
		host: req.Host, cl: req.ContentLength, keepAlive: !req.Close, headers: map[string][]string{}}
	switch {
	case len(req.TransferEncoding) > 0 && req.TransferEncoding[len(req.TransferEncoding)-1] == "chunked":
		v.framing = FramingChunked
	case req.ContentLength > 0:
		v.framing = FramingLength
	}
	for k, vv := range req.Header {
		if k != "Host" && k != "Transfer-Encoding" {
			v.headers[k] = vv
		}
	}
	if v.framing == FramingChunked {
		// Compared only when ParseRequest saw bytes after the head.
		b, err := io.ReadAll(req.Body)
		if v.bodyErr = err; err == nil {
			s := string(b)
			v.body = &s
		}
	}
	return v
}

// diffRawHosts returns the values of the Host fields of the head in in,
// trimmed as net/http trims them.
func diffRawHosts(in []byte) []string {
	head, _, _ := bytes.Cut(in, []byte("\r\n\r\n"))
	var out []string
	for i, l := range strings.Split(string(head), "\n") {
		name, v, ok := strings.Cut(l, ":")
		if i > 0 && ok && strings.EqualFold(name, "host") {
			out = append(out, strings.Trim(v, " \t\r"))
		}
	}
	return out
}

// diffGoValidHost mirrors httpguts.ValidHostHeader, which net/http's
// server applies: any byte of a uri-host or port, in any order.
func diffGoValidHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			strings.IndexByte("!$%&()*+,-.:;=[]'_~", c) >= 0) {
			return false
		}
	}
	return true
}

func diffIsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isToken(s[i]) {
			return false
		}
	}
	return true
}

// diffStricter lists, by our error, the requests we refuse on purpose where
// net/http accepts, with the RFC section that allows (or requires) it. Any
// other refusal net/http does not share fails the test.
var diffStricter = map[error]string{
	ErrBareLF:                 "RFC 9112 §2.2: a recipient MAY accept a bare LF; we refuse (line-ending smuggling)",
	ErrObsFold:                "RFC 9112 §5.2: a server MUST reject obs-fold or replace it with SP; we reject",
	ErrDuplicateContentLength: "RFC 9110 §8.6: identical duplicates MUST be rejected or collapsed; we reject (Limits.AllowDuplicateContentLength)",
	ErrUnexpectedBody:         "RFC 9110 §9.3.1/§9.3.2: content on GET/HEAD has no defined semantics; we refuse it (Limits.AllowGETBody)",
	ErrSuspiciousHeader:       "RFC 9110 §5.1 allows the name; we refuse names imitating framing fields (DESIGN §5)",
	ErrBadTarget:              "RFC 9112 §3.2: only the four target forms, ASCII, no fragment (RFC 3986 §2, §3.5), '*' only for OPTIONS (§3.2.4), authority-form only for CONNECT (§3.2.3), no userinfo (RFC 9110 §4.2.4)",
	ErrBadHost:                "RFC 9112 §3.2 / RFC 3986 §3.2.2: Host = uri-host [\":\" port]; net/http only checks the byte set",
	ErrMissingHost:            "RFC 9112 §3.2: 400 for any HTTP/1.1 request without Host, CONNECT included (net/http exempts CONNECT)",
	ErrMalformedVersion:       "RFC 9112 §2.3: HTTP-version = \"HTTP/\" DIGIT \".\" DIGIT exactly; net/http takes HTTP/1.01 and the like",
	ErrBadVersion:             "RFC 9110 §15.6.6: 505 for 1.x other than 1.0/1.1 (net/http serves HTTP/1.2 as 1.x)",
	ErrBadRequestLine:         "RFC 9112 §3: exactly one SP between the parts; net/http splits on the first two spaces only",
	ErrBadTransferEncoding:    "RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding is faulty framing; §7: chunked takes no parameters",
	ErrAmbiguousFraming:       "RFC 9112 §6.3 (3): CL with TE 'ought to be handled as an error'; §6.1: a server MAY reject; we do",
	ErrBadContentLength:       "RFC 9110 §8.6: Content-Length = 1*DIGIT; a list of values is not a length",
	ErrBadHeader:              "RFC 9110 §5.5: no CTL in a field value; RFC 9112 §2.2: no bare CR",
}

// diffRule is a documented difference that applies to a class of inputs.
type diffRule struct {
	why   string // with the RFC section
	match func(in []byte, ours diffView) bool
}

// diffLenient lists the classes of requests net/http refuses and we
// accept, and why that is right. Every rule must match at least one input.
var diffLenient = []diffRule{
	{"RFC 9110 §5.6.1.2: a recipient MUST accept (and ignore) empty list elements, so \"chunked,\" and \",chunked\" are chunked; net/http refuses them as unknown codings",
		func(in []byte, v diffView) bool {
			return v.framing == FramingChunked && (bytes.Contains(in, []byte("chunked,")) || bytes.Contains(in, []byte(",chunked")))
		}},
	{"RFC 3986 §2.1 / RFC 9112 §3 (SHOULD 400): a malformed percent-encoding in the path is left to the gateway's router, whose Normalize refuses it (400) before anything is forwarded; the parser only checks bytes",
		func(in []byte, v diffView) bool { return diffBadPercent(v.target) }},
}

// diffFieldExceptions lists the classes of requests both accept but read
// differently.
var diffFieldExceptions = []diffRule{
	{"RFC 9112 §7.1/§7.1.1: chunk = chunk-size [chunk-ext] CRLF, BWS only before ';', ext-name a token, quoted values closed; net/http ignores everything after ';' and trims whitespace after the size, we refuse such a body (400) rather than guess",
		func(in []byte, v diffView) bool { return v.bodyErr != nil }},
	{"RFC 9112 §3.3: for authority-form the target URI's authority is the request-target; Request.Host is only the Host field (nil without one) and CONNECT callers use Target, net/http copies the authority into Host",
		func(in []byte, v diffView) bool { return v.method == "CONNECT" }},
}

// diffBadPercent reports whether the path of target holds a '%' not
// followed by two hex digits.
func diffBadPercent(target string) bool {
	path, _, _ := strings.Cut(target, "?")
	for i := 0; i < len(path); i++ {
		if path[i] == '%' && (i+2 >= len(path) || hexVal[path[i+1]] == 0xff || hexVal[path[i+2]] == 0xff) {
			return true
		}
	}
	return false
}

// diffMatch returns the index of the first rule matching, or -1.
func diffMatch(rules []diffRule, in []byte, v diffView) int {
	for i, r := range rules {
		if r.match(in, v) {
			return i
		}
	}
	return -1
}

type diffInput struct {
	name string
	in   []byte
}

// diffCorpus gathers the three sources.
func diffCorpus(t *testing.T) []diffInput {
	var out []diffInput
	corpus := loadCorpus(t)
	files := make([]string, 0, len(corpus))
	for f := range corpus {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		for _, c := range corpus[f] {
			out = append(out, diffInput{"desync/" + f + "/" + c.Name, buildCorpusRequest(c)})
		}
	}
	for _, c := range portedCases {
		out = append(out, diffInput{"ported/" + c.name, []byte(c.in)})
	}
	return append(out, diffGenerated()...)
}

// diffGenerated builds requests that vary one thing at a time: every byte
// value in each part of a request, the request-line forms and versions, and
// single and paired framing fields.
func diffGenerated() []diffInput {
	var out []diffInput
	add := func(name, s string) { out = append(out, diffInput{"gen/" + name, []byte(s)}) }
	for b := 0; b < 256; b++ {
		c := string([]byte{byte(b)})
		x := fmt.Sprintf("%02x", b)
		add("method-"+x, "GE"+c+"T / HTTP/1.1\r\nHost: h\r\n\r\n")
		add("target-"+x, "GET /a"+c+"b HTTP/1.1\r\nHost: h\r\n\r\n")
		add("query-"+x, "GET /a?b"+c+"c HTTP/1.1\r\nHost: h\r\n\r\n")
		add("name-"+x, "GET / HTTP/1.1\r\nHost: h\r\nX-A"+c+"b: v\r\n\r\n")
		add("value-"+x, "GET / HTTP/1.1\r\nHost: h\r\nX-A: v"+c+"w\r\n\r\n")
		add("host-"+x, "GET / HTTP/1.1\r\nHost: h"+c+"i\r\n\r\n")
		add("cl-"+x, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1"+c+"\r\n\r\n")
		const chunkHead = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		add("chunk-size-"+x, chunkHead+"5"+c+"\r\nhello\r\n0\r\n\r\n")
		add("chunk-ext-"+x, chunkHead+"5;a"+c+"\r\nhello\r\n0\r\n\r\n")
		add("chunk-data-end-"+x, chunkHead+"5\r\nhello"+c+"\n0\r\n\r\n")
		add("trailer-"+x, chunkHead+"5\r\nhello\r\n0\r\nX-T: a"+c+"b\r\n\r\n")
		add("te-"+x, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"+c+"\r\n\r\n")
	}
	versions := []string{"HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1",
		"HTTP/01.1", "HTTP/1.10", "HTTP/1.1 ", " HTTP/1.1", "HTTP/1.1\t", "HTTP /1.1"}
	targets := []string{"/", "*", "http://h/p", "https://h", "h:443", "/a?b#c", "//x", "/a%zz", "?q", "/a b"}
	methods := []string{"GET", "OPTIONS", "CONNECT", "POST", "get", "G ET"}
	for _, m := range methods {
		for _, tg := range targets {
			for _, v := range versions {
				add("line/"+m+"/"+tg+"/"+v, m+" "+tg+" "+v+"\r\nHost: h:443\r\n\r\n")
			}
		}
	}
	cls := []string{"0", "5", "05", " 5 ", "5, 5", "5,6", "", "abc", "-1", "+5", "99999999999999999999", "5 5", "0x5"}
	tes := []string{"chunked", "Chunked", " chunked ", "gzip, chunked", "chunked, gzip", "identity", "chunked;q=1",
		"", "chunked, chunked", ",chunked", "gzip", "\"chunked\""}
	var fields []string
	for _, v := range cls {
		fields = append(fields, "Content-Length: "+v)
	}
	for _, v := range tes {
		fields = append(fields, "Transfer-Encoding: "+v)
	}
	for _, m := range []string{"POST", "GET"} {
		for _, ver := range []string{"HTTP/1.1", "HTTP/1.0"} {
			for i, f := range fields {
				add(fmt.Sprintf("framing/%s/%s/%q", m, ver, f), m+" / "+ver+"\r\nHost: h\r\n"+f+"\r\n\r\n")
				for _, g := range fields[i:] {
					add(fmt.Sprintf("framing/%s/%s/%q+%q", m, ver, f, g), m+" / "+ver+"\r\nHost: h\r\n"+f+"\r\n"+g+"\r\n\r\n")
				}
			}
		}
	}
	for _, c := range []string{"close", "keep-alive", "Keep-Alive, close", "upgrade", "foo"} {
		for _, ver := range []string{"HTTP/1.1", "HTTP/1.0"} {
			add("conn/"+ver+"/"+c, "GET / "+ver+"\r\nHost: h\r\nConnection: "+c+"\r\n\r\n")
		}
	}
	return out
}

// TestDifferentialNetHTTP compares verdicts and fields over the corpus.
func TestDifferentialNetHTTP(t *testing.T) {
	corpus := diffCorpus(t)
	var agreeAccept, agreeReject, stricter, lenient int
	usedLenient, usedField := map[int]int{}, map[int]int{}
	byErr := map[string]int{}
	for _, c := range corpus {
		ours, std := diffOurs(c.in), diffStd(c.in)
		switch {
		case !ours.ok && !std.ok:
			agreeReject++
		case !ours.ok:
			stricter++
			var key error
			for k := range diffStricter {
				if errors.Is(ours.err, k) {
					key = k
				}
			}
			if key == nil {
				t.Errorf("%s: we refuse (%v), net/http accepts, and no exception says why\n%q", c.name, ours.err, c.in)
				continue
			}
			byErr[key.Error()]++
		case !std.ok:
			lenient++
			i := diffMatch(diffLenient, c.in, ours)
			if i < 0 {
				t.Errorf("%s: we accept, net/http refuses (%v), and no exception says why\n%q", c.name, std.err, c.in)
				continue
			}
			usedLenient[i]++
		default:
			agreeAccept++
			if diffFieldsEqual(ours, std) {
				continue
			}
			if i := diffMatch(diffFieldExceptions, c.in, ours); i >= 0 {
				usedField[i]++
				continue
			}
			t.Errorf("%s: both accept but read it differently:\n ours    %+v\n net/http %+v\n%q", c.name, ours, std, c.in)
		}
	}
	for i, r := range diffLenient {
		if usedLenient[i] == 0 {
			t.Errorf("diffLenient rule %q matches no input any more", r.why)
		}
		t.Logf("  only net/http refuses (%d): %s", usedLenient[i], r.why)
	}
	for i, r := range diffFieldExceptions {
		if usedField[i] == 0 {
			t.Errorf("diffFieldExceptions rule %q matches no input any more", r.why)
		}
		t.Logf("  read differently (%d): %s", usedField[i], r.why)
	}
	t.Logf("%d inputs: both accept %d, both refuse %d, only we refuse %d, only net/http refuses %d",
		len(corpus), agreeAccept, agreeReject, stricter, lenient)
	keys := make([]string, 0, len(byErr))
	for k := range byErr {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("  only we refuse, %-50s %d", k, byErr[k])
	}
}

// diffFieldsEqual compares two accepting views.
func diffFieldsEqual(a, b diffView) bool {
	if a.method != b.method || a.target != b.target || a.minor != b.minor || a.host != b.host ||
		a.framing != b.framing || a.keepAlive != b.keepAlive {
		return false
	}
	if a.framing == FramingLength && a.cl != b.cl {
		return false
	}
	if a.body != nil || a.bodyErr != nil {
		// Both decode the chunked body, or both refuse it.
		if (a.bodyErr == nil) != (b.bodyErr == nil) || a.body != nil && *a.body != *b.body {
			return false
		}
	}
	return reflect.DeepEqual(a.headers, b.headers)
}
