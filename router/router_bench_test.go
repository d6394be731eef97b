package router

import (
	"fmt"
	"testing"
)

// benchMatch reports the cost of one Match; it fails the benchmark if the
// result is not the expected one, so a broken router cannot look fast.
func benchMatch(b *testing.B, r *Router, host, method, path string, want int) {
	b.Helper()
	h, m, p := []byte(host), []byte(method), []byte(path)
	var ps Params
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		v, res, _ := r.Match(h, m, p, nil, &ps)
		if v != want || res != Found {
			b.Fatalf("got %d %v", v, res)
		}
	}
}

func BenchmarkMatchStatic(b *testing.B) {
	r := build(b, []Spec{{Path: "/api/v1/health", Methods: []string{"GET"}, Value: 1}, {Path: "/api/v1/users", Value: 2}})
	benchMatch(b, r, "", "GET", "/api/v1/health", 1)
}

func BenchmarkMatchParam(b *testing.B) {
	r := build(b, []Spec{{Path: "/users/:id/posts/:post", Methods: []string{"GET"}, Value: 1}, {Path: "/users/new", Value: 2}})
	benchMatch(b, r, "", "GET", "/users/12345/posts/678", 1)
}

func BenchmarkMatchWildcard(b *testing.B) {
	r := build(b, []Spec{{Path: "/static/*path", Value: 1}, {Path: "/static/index.html", Value: 2}})
	benchMatch(b, r, "", "GET", "/static/css/site/main.css", 1)
}

func BenchmarkMatchHost(b *testing.B) {
	r := build(b, []Spec{
		{Host: "api.example.com", Path: "/users/:id", Value: 1},
		{Host: "*.example.com", Path: "/users/:id", Value: 2},
		{Path: "/users/:id", Value: 3},
	})
	benchMatch(b, r, "Tenant.Example.com:8443", "GET", "/users/42", 2)
}

// table100 is a GitHub-API-like set of 100 routes across 10 resources.
func table100() []Spec {
	var specs []Spec
	resources := []string{"users", "orgs", "repos", "issues", "pulls", "gists", "teams", "projects", "events", "hooks"}
	v := 0
	for _, res := range resources {
		add := func(path string, methods ...string) {
			specs = append(specs, Spec{Path: path, Methods: methods, Value: v})
			v++
		}
		add("/v1/"+res, "GET", "POST")
		add("/v1/"+res+"/search", "GET")
		add("/v1/"+res+"/:id", "GET", "PUT", "DELETE")
		add("/v1/"+res+"/:id", "PATCH")
		add("/v1/"+res+"/:id/comments", "GET", "POST")
		add("/v1/"+res+"/:id/comments/:cid", "GET", "DELETE")
		add("/v1/"+res+"/:id/labels", "GET")
		add("/v1/"+res+"/:id/labels/:label", "DELETE")
		add("/v1/"+res+"/:id/files/*path", "GET")
		add("/v2/"+res+"/*", "GET")
	}
	return specs
}

func BenchmarkMatch100(b *testing.B) {
	r := build(b, table100())
	// The 75th route: projects, comments/:cid.
	benchMatch(b, r, "", "DELETE", "/v1/projects/4711/comments/99", 75)
}

func BenchmarkMatch100Table(b *testing.B) {
	r := build(b, table100())
	paths := make([][]byte, 0, 100)
	for i := 0; i < 100; i++ {
		paths = append(paths, []byte(fmt.Sprintf("/v1/%s/%d/comments/%d", table100()[i/10*10].Path[4:], i, i)))
	}
	get := []byte("GET")
	var ps Params
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, res, _ := r.Match(nil, get, paths[i%100], nil, &ps); res != Found {
			b.Fatal(res)
		}
		i++
	}
}

func BenchmarkMatchNotFound(b *testing.B) {
	r := build(b, table100())
	p, m := []byte("/v1/users/1/nothing/here"), []byte("GET")
	var ps Params
	b.ReportAllocs()
	for b.Loop() {
		r.Match(nil, m, p, nil, &ps)
	}
}

func BenchmarkMatchMethodNotAllowed(b *testing.B) {
	r := build(b, table100())
	p, m := []byte("/v1/users/1/labels"), []byte("POST")
	var ps Params
	b.ReportAllocs()
	for b.Loop() {
		if _, res, _ := r.Match(nil, m, p, nil, &ps); res != MethodNotAllowed {
			b.Fatal(res)
		}
	}
}

func BenchmarkMatchHeaders(b *testing.B) {
	r := build(b, []Spec{
		{Path: "/api/*", Headers: map[string]string{"X-Api-Version": "2"}, Value: 1},
		{Path: "/api/*", Value: 2},
	})
	var h HeaderSource = &oneHeader{name: "X-Api-Version", value: []byte("2")}
	p, m := []byte("/api/things/1"), []byte("GET")
	var ps Params
	b.ReportAllocs()
	for b.Loop() {
		if v, _, _ := r.Match(nil, m, p, h, &ps); v != 1 {
			b.Fatal(v)
		}
	}
}

// BenchmarkMatchAcceptVersion reads a realistic Accept value with three
// ranges, the versioned one not first, against three versions and a default.
func BenchmarkMatchAcceptVersion(b *testing.B) {
	r := build(b, []Spec{
		{Path: "/api/*", Value: 0},
		{Path: "/api/*", AcceptVersion: "1", Value: 1},
		{Path: "/api/*", AcceptVersion: "2", Value: 2},
		{Path: "/api/*", AcceptVersion: "3", Value: 3},
	})
	var h HeaderSource = &oneHeader{name: "Accept", value: []byte("text/html;q=0.8, application/vnd.example.v2+json; q=0.9, */*;q=0.1")}
	p, m := []byte("/api/things/1"), []byte("GET")
	var ps Params
	b.ReportAllocs()
	for b.Loop() {
		if v, _, _ := r.Match(nil, m, p, h, &ps); v != 2 {
			b.Fatal(v)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	// %3f, not %2f (refused by the default policy since issue 12): the
	// same work, a reserved escape kept with its hex upper-cased.
	in := []byte("/api/v1//users/./%7ejane/../12345/posts/%3fx/")
	dst := make([]byte, 0, len(in))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Normalize(dst, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeDecode runs the rewriting policies: escaped slashes
// decoded, ';' parameters stripped.
func BenchmarkNormalizeDecode(b *testing.B) {
	in := []byte("/api/v1//users;v=2/./%7ejane/..%2F12345/posts/%3fx/")
	dst := make([]byte, 0, len(in))
	p := Policy{EscapedSlashes: EscapedSlashesDecode, PathParams: PathParamsStrip}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := p.Normalize(dst, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeClean(b *testing.B) {
	in := []byte("/api/v1/users/12345/posts")
	dst := make([]byte, 0, len(in))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Normalize(dst, in); err != nil {
			b.Fatal(err)
		}
	}
}

// oneHeader is an allocation-free HeaderSource, so the header benchmark
// measures the router and not a test map.
type oneHeader struct {
	name  string
	value []byte
}

func (o *oneHeader) Header(name string) []byte {
	if name == o.name {
		return o.value
	}
	return nil
}
