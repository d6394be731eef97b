package auditlog

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/filter"
)

// appendLine appends x's audit record as one JSON object (no newline):
//
//	{"time":"…","request_id":"…","route":"…","method":"…","path":"…","status":200,
//	 "user":"…","consumer":"…","client_ip":"…","upstream":"…"}
//
// time is the request's start (at, unix nanoseconds) in UTC RFC 3339 with
// nanoseconds; user is the JWT subject and consumer the API-key consumer,
// "" when unset, like upstream when no target was reached and client_ip
// when unknown. The key order is fixed so that lines diff and grep well.
func appendLine(b []byte, x *filter.Exchange, at int64) []byte {
	b = append(b, `{"time":"`...)
	b = time.Unix(0, at).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","request_id":"`...)
	b = appendEscaped(b, x.RequestID)
	b = append(b, `","route":"`...)
	b = appendEscaped(b, x.Route)
	b = append(b, `","method":"`...)
	b = appendEscaped(b, x.Method)
	b = append(b, `","path":"`...)
	b = appendEscaped(b, x.Path)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(x.Status), 10)
	b = append(b, `,"user":"`...)
	b = appendEscaped(b, x.Subject)
	b = append(b, `","consumer":"`...)
	b = appendEscaped(b, x.Consumer)
	b = append(b, `","client_ip":"`...)
	if x.ClientIP.IsValid() {
		b = x.ClientIP.Unmap().AppendTo(b)
	}
	b = append(b, `","upstream":"`...)
	b = appendEscaped(b, x.Upstream)
	return append(b, `"}`...)
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends s as the inside of a JSON string. Beyond what JSON
// requires (quote, backslash, C0 controls) it escapes DEL and the C1
// controls, which terminals act on, so that `tail -f audit.log` is safe
// whatever a client put in its path; invalid UTF-8 becomes U+FFFD, so the
// line is always valid JSON (as encoding/json does).
func appendEscaped[S ~string | ~[]byte](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			var tmp [utf8.UTFMax]byte
			r, size := utf8.DecodeRune(tmp[:copy(tmp[:], s[i:])])
			if r != utf8.RuneError && r > 0x9f {
				i += size // printable non-ASCII: kept as is
				continue
			}
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}
