package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandlerDescribesRequest(t *testing.T) {
	srv := httptest.NewServer(Handler("demo-1"))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/users/42?x=1", nil)
	req.Header.Set("X-Request-ID", "abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["path"] != "/api/users/42" || got["query"] != "x=1" || got["x_request_id"] != "abc" || got["upstream"] != "demo-1" {
		t.Fatalf("unexpected description: %v", got)
	}
	if u, _ := got["user"].(map[string]any); u["id"] != "42" {
		t.Fatalf("user not described: %v", got["user"])
	}
}
