package router_test

import (
	"fmt"

	"github.com/sluicehq/sluice/router"
)

// A router is built once, then matched per request on normalised paths.
func Example() {
	r := router.New()
	for i, s := range []router.Spec{
		{Path: "/api/admin", Methods: []string{"GET"}},
		{Path: "/api/products/:id", Methods: []string{"GET", "PUT"}},
		{Host: "*.example.com", Path: "/files/*path"},
	} {
		s.Value = i
		if err := r.Add(s); err != nil {
			panic(err)
		}
	}

	var ps router.Params
	buf := make([]byte, 0, 256)
	for _, req := range []struct{ host, method, path string }{
		{"gw.local", "GET", "/api/products/../admin"},
		{"gw.local", "PUT", "/api/products/%7e42"},
		{"cdn.example.com:443", "GET", "/files/a/b.css"},
		{"gw.local", "POST", "/api/products/42"},
		{"gw.local", "GET", "/../etc/passwd"},
	} {
		path, err := router.Normalize(buf, []byte(req.path))
		if err != nil {
			fmt.Println(req.path, "->", err)
			continue
		}
		v, res, allow := r.Match([]byte(req.host), []byte(req.method), path, nil, &ps)
		switch res {
		case router.Found:
			fmt.Printf("%s %s -> route %d", req.method, path, v)
			for i := 0; i < ps.Len(); i++ {
				k, val := ps.At(i)
				fmt.Printf(" %s=%s", k, val)
			}
			fmt.Println()
		case router.MethodNotAllowed:
			fmt.Printf("%s %s -> 405 Allow: %s\n", req.method, path, allow)
		default:
			fmt.Printf("%s %s -> 404\n", req.method, path)
		}
	}
	// Output:
	// GET /api/admin -> route 0
	// PUT /api/products/~42 -> route 1 id=~42
	// GET /files/a/b.css -> route 2 path=a/b.css
	// POST /api/products/42 -> 405 Allow: GET, HEAD, PUT
	// /../etc/passwd -> router: path escapes the root
}
