package http1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// corpusDir holds the third-party desync-guardian request-smuggling corpus,
// kept in the repository (source and commit: testdata/README.md; the case
// format: README.upstream.md there).
const corpusDir = "../testdata/desync-guardian"

// corpusFiles are the corpus files the tests expect; each one missing is a
// failure, so a partial copy cannot pass by testing less.
var corpusFiles = []string{
	"acceptable.yaml", "ambiguous.yaml", "bad-header-characters.yaml",
	"edge-cases.yaml", "more-compliant-tests.yaml", "real-life-test-cases.yaml",
	"rfc-compliant.yaml", "severe.yaml", "uri-specific-test-cases.yaml",
}

type corpusCase struct {
	Name    string `yaml:"name"`
	URI     string `yaml:"uri"`
	Method  string `yaml:"method"`
	Version string `yaml:"version"`
	Headers []struct {
		Name  string `yaml:"name"`
		Value any    `yaml:"value"` // some values are YAML integers
	} `yaml:"headers"`
	Expected struct {
		Tier   string `yaml:"tier"`
		Reason string `yaml:"reason"`
	} `yaml:"expected"`
}

// corpusException is a Compliant or Acceptable case that this gateway
// rejects on purpose, with the error it must get and why.
type corpusException struct {
	err error
	why string
}

// corpusExceptions lists, by "file/name", the cases the corpus calls fine
// but a strict edge gateway refuses. Every entry is a deliberate choice;
// the test fails if the parser starts accepting one of them (or rejects it
// for another reason), so this list stays honest.
var corpusExceptions = map[string]corpusException{
	// Whitespace between field name and colon: RFC 9112 §5.1 says a server
	// MUST reject the message with 400.
	"acceptable.yaml/No TE/CL headers, some others are non-compliant": {ErrBadHeader, "RFC 9112 §5.1: whitespace before colon MUST be rejected"},
	"acceptable.yaml/TE and some others are non-compliant":            {ErrBadHeader, "RFC 9112 §5.1: whitespace before colon MUST be rejected"},
	"acceptable.yaml/CL and some others are non-compliant":            {ErrBadHeader, "RFC 9112 §5.1: whitespace before colon MUST be rejected"},
	// A control byte in a field name is not a token (RFC 9110 §5.1); the
	// corpus tolerates it on "non-essential" names, but which names are
	// essential depends on the upstream, so we reject all (DESIGN §5).
	"acceptable.yaml/A non-essential header with a non-printable character (x01)": {ErrBadHeader, "RFC 9110 §5.1: field-name = token"},
	"bad-header-characters.yaml/Some-Header\\x01":                                 {ErrBadHeader, "RFC 9110 §5.1: field-name = token"},
	"bad-header-characters.yaml/\\x01Some-Header":                                 {ErrBadHeader, "RFC 9110 §5.1: field-name = token"},
	// CTLs other than HTAB in a field value: RFC 9110 §5.5 says a recipient
	// of CR, LF or NUL MUST reject or replace them; we treat every CTL
	// alike rather than guess which ones an upstream splits on.
	"bad-header-characters.yaml/Some-Header: \\x01value": {ErrBadHeader, "RFC 9110 §5.5: field-vchar excludes CTLs"},
	"bad-header-characters.yaml/Some-Header: value\\x01": {ErrBadHeader, "RFC 9110 §5.5: field-vchar excludes CTLs"},
	// HTTP/0.9 had no version token, and the request line grammar needs one
	// (RFC 9112 §3); HTTP/1.2 is answered 505, since we only speak 1.0 and
	// 1.1 and do not pretend otherwise (RFC 9110 §15.6.6).
	"acceptable.yaml/Non-RFC, but OK HTTP/0.9":             {ErrMalformedVersion, "RFC 9112 §2.3/§3: HTTP/0.9 is not supported"},
	"acceptable.yaml/Empty version, which means HTTP/0.9":  {ErrBadRequestLine, "RFC 9112 §3: request-line needs HTTP-version"},
	"acceptable.yaml/Unknown but OK HTTP/1.2":              {ErrBadVersion, "RFC 9110 §15.6.6: 505 for versions we do not speak"},
	"uri-specific-test-cases.yaml/Extra spaces in version": {ErrMalformedVersion, "RFC 9112 §3: no whitespace after HTTP-version"},
	// Unencoded space, raw non-ASCII, fragment or empty target: RFC 9112 §3.2
	// and RFC 3986 §2 (a URI is ASCII; '#' starts a fragment a client never
	// sends); §3 asks for 400 rather than autocorrecting.
	"uri-specific-test-cases.yaml/[space] in URI": {ErrMalformedVersion, "RFC 9112 §3: whitespace in request-target is invalid"},
	"rfc-compliant.yaml/International in URI":     {ErrBadTarget, "RFC 3986 §2: non-ASCII must be percent-encoded"},
	"rfc-compliant.yaml/Compliant URL":            {ErrBadTarget, "RFC 9112 §3.2 / RFC 3986 §3.5: no fragment in a request-target"},
	"rfc-compliant.yaml/Empty URI":                {ErrBadRequestLine, "RFC 9112 §3.2: request-target is never empty"},
	// Transfer codings other than chunked. RFC 9112 §6.1: a server that does
	// not understand a transfer coding SHOULD respond 501; we decode only
	// chunked. "identity" is not a registered coding any more, and a
	// parameter without "=" (or any parameter on chunked, which defines
	// none) is a syntax error: RFC 9112 §7 transfer-parameter.
	"rfc-compliant.yaml/Different Transfer-Encoding headers":                              {ErrUnsupportedTransferEncoding, "RFC 9112 §6.1: 501 for codings we do not implement"},
	"rfc-compliant.yaml/Different Transfer-Encoding headers combined":                     {ErrUnsupportedTransferEncoding, "RFC 9112 §6.1: 501 for codings we do not implement"},
	"rfc-compliant.yaml/Transfer-Encoding with a param: chunked;custom_param":             {ErrBadTransferEncoding, "RFC 9112 §7: transfer-parameter needs '='"},
	"more-compliant-tests.yaml/Correct TE OK":                                             {ErrUnsupportedTransferEncoding, "RFC 9112 §6.1: 501 for codings we do not implement"},
	"more-compliant-tests.yaml/Transfer-Encoding: identity and chunked OK":                {ErrUnsupportedTransferEncoding, "RFC 9112 §6.1: 501 for codings we do not implement"},
	"more-compliant-tests.yaml/Multiple transfer encoding headers in a single request OK": {ErrUnsupportedTransferEncoding, "RFC 9112 §6.1: 501 for codings we do not implement"},
	"more-compliant-tests.yaml/TE with custom parameters OK":                              {ErrBadTransferEncoding, "RFC 9112 §7: transfer-parameter needs '='; chunked has none"},
}

// buildCorpusRequest renders a case as the corpus intends: request line,
// fields as "name:value", empty line. A "Host: localhost" field is put first
// when the case has none, because HTTP/1.1 requires one (RFC 9112 §3.2) and
// without it every case would be rejected for the wrong reason.
func buildCorpusRequest(c corpusCase) []byte {
	var b strings.Builder
	b.WriteString(c.Method + " " + c.URI)
	if c.Version != "" {
		b.WriteString(" " + c.Version)
	}
	b.WriteString("\r\n")
	hasHost := false
	for _, hd := range c.Headers {
		hasHost = hasHost || strings.EqualFold(hd.Name, "host")
	}
	if !hasHost {
		b.WriteString("Host: localhost\r\n")
	}
	for _, hd := range c.Headers {
		v := ""
		if hd.Value != nil {
			v = fmt.Sprint(hd.Value)
		}
		b.WriteString(hd.Name + ":" + v + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func loadCorpus(t *testing.T) map[string][]corpusCase {
	t.Helper()
	out := map[string][]corpusCase{}
	for _, name := range corpusFiles {
		f := filepath.Join(corpusDir, name)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("desync-guardian corpus (see testdata/README.md): %v", err)
		}
		var cases []corpusCase
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = cases
	}
	return out
}

// TestDesyncGuardianCorpus runs every corpus case through ParseRequest:
// Severe and Ambiguous cases must be rejected with 400 (and not merely for
// a missing Host); Compliant and Acceptable cases must parse, except the
// documented corpusExceptions.
func TestDesyncGuardianCorpus(t *testing.T) {
	corpus := loadCorpus(t)
	type tally struct{ total, rejected, accepted, exceptions int }
	tiers := map[string]*tally{}
	used := map[string]bool{}
	var r Request
	files := make([]string, 0, len(corpus))
	for f := range corpus {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, file := range files {
		for i, c := range corpus[file] {
			key := file + "/" + c.Name
			tier := c.Expected.Tier
			if tiers[tier] == nil {
				tiers[tier] = &tally{}
			}
			tl := tiers[tier]
			tl.total++
			in := buildCorpusRequest(c)
			_, err := ParseRequest(in, &r, nil)
			if err != nil {
				tl.rejected++
			} else {
				tl.accepted++
			}
			label := fmt.Sprintf("%s #%d %q (%s/%s)", file, i, c.Name, tier, c.Expected.Reason)
			switch tier {
			case "Severe", "Ambiguous":
				if err == nil || StatusOf(err) != 400 || errors.Is(err, ErrMissingHost) || err == ErrIncomplete {
					t.Errorf("%s: want a 400 rejection, got %v\n%q", label, err, in)
				}
			case "Compliant", "Acceptable":
				if ex, ok := corpusExceptions[key]; ok {
					used[key] = true
					tl.exceptions++
					if !errors.Is(err, ex.err) {
						t.Errorf("%s: documented exception (%s) expects %v, got %v", label, ex.why, ex.err, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: want success, got %v\n%q", label, err, in)
				}
			default:
				t.Errorf("%s: unknown tier", label)
			}
		}
	}
	for key := range corpusExceptions {
		if !used[key] {
			t.Errorf("exception %q matches no Compliant/Acceptable case", key)
		}
	}
	names := make([]string, 0, len(tiers))
	for n := range tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tl := tiers[n]
		t.Logf("%-10s total=%d rejected=%d accepted=%d documented-exceptions=%d", n, tl.total, tl.rejected, tl.accepted, tl.exceptions)
	}
}
