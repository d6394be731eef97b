package compress

import (
	"strings"

	"github.com/sluicehq/sluice/http1"
)

// coding is a content coding the gateway can write; identity (0) is none.
type coding uint8

const (
	identity coding = iota
	gzipCoding
	brCoding
	zstdCoding
	numCodings
)

// codingNames are the tokens of Content-Encoding and Accept-Encoding
// (RFC 9110 §8.4.1, RFC 7932, RFC 8878).
var codingNames = [numCodings]string{"identity", "gzip", "br", "zstd"}

// codingNamed returns the coding a config names, identity if none.
func codingNamed(name string) coding {
	for c := gzipCoding; c < numCodings; c++ {
		if strings.EqualFold(name, codingNames[c]) {
			return c
		}
	}
	return identity
}

// negotiate picks the coding for a request (RFC 9110 §12.5.3): the
// offered coding with the highest weight in Accept-Encoding, a coding the
// client did not name taking the weight of "*", ties going to the first
// in offer (the configured order). A weight of 0 refuses. No header, or
// nothing acceptable, is identity: the body goes as it is, even when the
// client also refused identity (identity;q=0), which RFC 9110 allows
// rather than a 406. x-gzip counts as gzip (§8.4.1.3). Every
// Accept-Encoding line counts, as one joined list. Any loop; no
// allocation.
func negotiate(req *http1.Request, offer []coding) coding {
	var q [numCodings]int
	for i := range q {
		q[i] = -1 // not named
	}
	star, named := -1, false
	for i := range req.Headers {
		h := &req.Headers[i]
		if !http1.EqualFold(h.Name, "Accept-Encoding") {
			continue
		}
		named = true
		for tok, w, rest := http1.NextWeighted(h.Value); tok != nil; tok, w, rest = http1.NextWeighted(rest) {
			if w < 0 {
				continue // a weight that does not parse: ignore the element
			}
			switch {
			case tok[0] == '*' && len(tok) == 1:
				star = max(star, w)
			case http1.EqualFold(tok, "gzip"), http1.EqualFold(tok, "x-gzip"):
				q[gzipCoding] = max(q[gzipCoding], w)
			case http1.EqualFold(tok, "br"):
				q[brCoding] = max(q[brCoding], w)
			case http1.EqualFold(tok, "zstd"):
				q[zstdCoding] = max(q[zstdCoding], w)
			}
		}
	}
	if !named {
		return identity
	}
	best, bestQ := identity, 0
	for _, c := range offer {
		w := q[c]
		if w < 0 {
			w = star
		}
		if w > bestQ { // strictly: an equal weight keeps the earlier offer
			best, bestQ = c, w
		}
	}
	return best
}
