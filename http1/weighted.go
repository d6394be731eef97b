package http1

// NextWeighted returns the first element of a weighted list such as
// Accept-Encoding or TE (RFC 9110 §12.4.2: `token;q=0.5, other`), with
// surrounding OWS removed: its token, its weight in thousandths (1000 when
// it has no q parameter) and the rest of the list after its comma. Empty
// elements are skipped. An element whose weight does not parse (q=2,
// q=0.1234, q=abc) has q -1, so the caller ignores it rather than guess;
// parameters other than q are ignored. tok is nil when the list holds no
// more elements. It is meant for lists without quoted parameters (a comma
// inside quotes would end the element). Iterate without allocating:
//
//	for tok, q, rest := NextWeighted(list); tok != nil; tok, q, rest = NextWeighted(rest) { ... }
func NextWeighted(list []byte) (tok []byte, q int, rest []byte) {
	for {
		var elem []byte
		elem, rest = NextToken(list)
		if elem == nil {
			return nil, 0, nil
		}
		if tok, q = weighted(elem); len(tok) > 0 {
			return tok, q, rest
		}
		list = rest // ";q=1" alone names nothing: skip it like an empty element
	}
}

// weighted splits one list element into its token and weight.
func weighted(elem []byte) (tok []byte, q int) {
	i := 0
	for i < len(elem) && elem[i] != ';' {
		i++
	}
	tok, params := trimOWS(elem[:i]), elem[i:]
	q = 1000
	for len(params) > 0 {
		params = params[1:] // the ';'
		j := 0
		for j < len(params) && params[j] != ';' {
			j++
		}
		p := trimOWS(params[:j])
		params = params[j:]
		if len(p) >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' {
			q = parseQValue(p[2:])
		}
	}
	return tok, q
}

// parseQValue parses a qvalue ("0", "0.5", "1.000"; RFC 9110 §12.4.2) into
// thousandths, or -1 when it is not one.
func parseQValue(v []byte) int {
	if len(v) == 0 || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return -1
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q
	}
	if v[1] != '.' {
		return -1
	}
	scale := 100
	for _, c := range v[2:] {
		if c < '0' || c > '9' {
			return -1
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return -1 // "1.5": only zeros may follow a one
	}
	return q
}
