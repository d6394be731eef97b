package filter

// ParamsReader is implemented by filters that read route path parameters
// by name (transform's {params.NAME}), so the pipeline can refuse a route
// whose match.path does not declare one: its value would never be there.
// A filter that does not implement it reads none. The pipeline calls it
// once per route while building a snapshot, off the loops.
type ParamsReader interface {
	// PathParams returns the names of the parameters the instance reads
	// ("*" for a bare trailing /*).
	PathParams() []string
}
