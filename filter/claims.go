package filter

// ClaimsProvider is implemented by filters that verify a token and set
// Exchange.Claims (jwt), so the pipeline can check that every ClaimsChecker
// on a route comes after one. A filter that does not implement it (the
// default) sets no claims. The pipeline calls it once per route while
// building a snapshot, off the loops.
type ClaimsProvider interface {
	// ProvidesClaims reports whether this instance sets Exchange.Claims.
	ProvidesClaims() bool
}

// ClaimsChecker is implemented by filters that read Exchange.Claims
// (require), so the pipeline rejects a route where no ClaimsProvider comes
// before them: without one the claims are always empty and the check always
// fails. A filter that does not implement it (the default) may go anywhere
// in a route. Called like ClaimsProvider.
type ClaimsChecker interface {
	// NeedsClaims reports whether this instance reads Exchange.Claims.
	NeedsClaims() bool
}
