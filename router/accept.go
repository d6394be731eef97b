package router

import "fmt"

// maxVersionLen bounds an accept_version: nine digits fit any real scheme
// and keep the matcher's comparison short.
const maxVersionLen = 9

// checkAcceptVersion validates Spec.AcceptVersion: "" (no condition) or 1 to
// 9 decimal digits without a leading zero, the canonical form requests are
// reduced to ("v02" asks for "2"), so that a spec can never be unreachable.
func checkAcceptVersion(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > maxVersionLen || !allDigits([]byte(v)) || (len(v) > 1 && v[0] == '0') {
		return fmt.Errorf("accept_version %q must be 1 to %d decimal digits without a leading zero, as in \"2\"", v, maxVersionLen)
	}
	return nil
}

// acceptVersion returns the API version the Accept value v asks for, a view
// into v with leading zeros removed, or nil when it asks for none. The media
// ranges are read left to right; a range names a version either as the last
// label "v<N>" of a vendor subtype ("application/vnd.example.v2+json",
// "application/vnd.example.v2") or as a "version=<N>" parameter
// ("application/vnd.example+json; version=2", quotes allowed). The range
// with the highest q that names a version wins, the first of equals; ranges
// with q=0 (refused by the client) and malformed ranges (a bad q, a
// non-numeric version, a vendor label and a parameter that disagree, no
// '/') are skipped, so one bad range does not hide a good one.
//
// It does not allocate (any goroutine).
func acceptVersion(v []byte) []byte {
	var best []byte
	bestQ := 0 // thousandths; a range must beat it, so q=0 never wins
	for len(v) > 0 {
		end := rangeEnd(v)
		if ver, q, ok := parseRange(v[:end]); ok && ver != nil && q > bestQ {
			best, bestQ = ver, q
		}
		if end == len(v) {
			break
		}
		v = v[end+1:]
	}
	return best
}

// rangeEnd returns the index of the ',' that ends the first media range of
// v, or len(v); a ',' inside a quoted parameter value does not end it.
func rangeEnd(v []byte) int {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			return i
		}
	}
	return len(v)
}

// parseRange reads one media range, "type/subtype *(OWS ; OWS name=value)".
// It returns the version the range names (nil for none), its q in
// thousandths (1000 when absent) and whether the range is well formed.
func parseRange(r []byte) (ver []byte, q int, ok bool) {
	r = trimOWS(r)
	i := 0
	for i < len(r) && r[i] != ';' {
		i++
	}
	mt := trimOWS(r[:i])
	slash := -1
	for j, c := range mt {
		if c == '/' {
			slash = j
			break
		}
	}
	if slash <= 0 || slash == len(mt)-1 || !isTokenBytes(mt[:slash]) || !isTokenBytes(mt[slash+1:]) {
		return nil, 0, false
	}
	ver = subtypeVersion(mt[slash+1:])
	q = 1000
	for r = r[i:]; len(r) > 0; {
		// r starts with ';'.
		r = trimOWS(r[1:])
		j := 0
		for j < len(r) && r[j] != '=' && r[j] != ';' {
			j++
		}
		if j == len(r) || r[j] != '=' {
			if len(trimOWS(r[:j])) == 0 {
				r = r[j:] // an empty parameter ";;" is harmless
				continue
			}
			return nil, 0, false
		}
		name := trimOWS(r[:j])
		val, rest, good := paramValue(r[j+1:])
		if !good {
			return nil, 0, false
		}
		r = rest
		switch {
		case equalFold(name, "q"):
			if q, good = parseQ(val); !good {
				return nil, 0, false
			}
		case equalFold(name, "version"):
			pv := canonVersion(val)
			if pv == nil || (ver != nil && string(pv) != string(ver)) {
				return nil, 0, false
			}
			ver = pv
		}
	}
	return ver, q, true
}

// paramValue reads a token or quoted-string value at the start of r and
// returns it (quotes removed; an escaped character keeps its backslash,
// which no version or q contains anyway), the rest of r from the next ';',
// and whether the value is well formed.
func paramValue(r []byte) (val, rest []byte, ok bool) {
	r = trimOWS(r)
	if len(r) > 0 && r[0] == '"' {
		for i := 1; i < len(r); i++ {
			switch r[i] {
			case '\\':
				i++
			case '"':
				val, rest = r[1:i], trimOWS(r[i+1:])
				if len(rest) > 0 && rest[0] != ';' {
					return nil, nil, false
				}
				return val, rest, true
			}
		}
		return nil, nil, false
	}
	i := 0
	for i < len(r) && r[i] != ';' {
		i++
	}
	val = trimOWS(r[:i])
	if !isTokenBytes(val) {
		return nil, nil, false
	}
	return val, r[i:], true
}

// subtypeVersion returns N from a vendor subtype "vnd.<name>.v<N>" with an
// optional "+suffix" (case-insensitive "vnd." and 'v'), canonicalised, or
// nil when the subtype names no version this way.
func subtypeVersion(st []byte) []byte {
	if len(st) < 4 || !equalFold(st[:4], "vnd.") {
		return nil
	}
	for i := len(st) - 1; i >= 4; i-- {
		if st[i] == '+' {
			st = st[:i]
			break
		}
	}
	dot := -1
	for i := len(st) - 1; i >= 4; i-- {
		if st[i] == '.' {
			dot = i
			break
		}
	}
	// dot > 4: "vnd.v2" has no name before the version label.
	if dot <= 4 || dot+2 > len(st) || st[dot+1]|0x20 != 'v' {
		return nil
	}
	return canonVersion(st[dot+2:])
}

// canonVersion returns d without leading zeros ("0" stays "0") when d is 1
// to maxVersionLen digits once they are gone, else nil.
func canonVersion(d []byte) []byte {
	if len(d) == 0 || !allDigits(d) {
		return nil
	}
	for len(d) > 1 && d[0] == '0' {
		d = d[1:]
	}
	if len(d) > maxVersionLen {
		return nil
	}
	return d
}

// parseQ reads an RFC 9110 §12.4.2 qvalue, "0[.ddd]" or "1[.000]", in
// thousandths.
func parseQ(v []byte) (int, bool) {
	if len(v) == 0 || len(v) == 2 || len(v) > 5 || (v[0] != '0' && v[0] != '1') || (len(v) > 1 && v[1] != '.') {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	scale := 100
	for _, c := range v[min(len(v), 2):] {
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// isTokenBytes reports whether b is an RFC 9110 token.
func isTokenBytes(b []byte) bool {
	for _, c := range b {
		if !tchar(c) {
			return false
		}
	}
	return len(b) > 0
}

func tchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares b with the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}
