package loadgen

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJiraSink(t *testing.T) {
	sink := &JiraSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	call := func(method, path string, auth bool) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(`{"fields":{}}`))
		if auth {
			req.SetBasicAuth("bench", "bench")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.StatusCode, body
	}
	if code, _ := call("POST", "/rest/api/2/issue", false); code != http.StatusUnauthorized {
		t.Errorf("create without credentials: %d, want 401", code)
	}
	if code, body := call("GET", "/rest/api/2/search?jql=x", true); code != 200 || body["total"] != 0.0 {
		t.Errorf("search: %d %v, want 200 and no issues", code, body)
	}
	for i, want := range []string{"OPS-1", "OPS-2"} {
		if code, body := call("POST", "/rest/api/2/issue", true); code != http.StatusCreated || body["key"] != want {
			t.Errorf("create %d: %d %v, want 201 %s", i, code, body, want)
		}
	}
	if sink.Created() != 2 {
		t.Errorf("Created() = %d, want 2", sink.Created())
	}
}

func TestFsyncProbe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	path := filepath.Join(t.TempDir(), "probe")
	slowest, _, err := FsyncProbe(ctx, path)
	if err != nil || slowest <= 0 {
		t.Fatalf("probe: slowest %v, %v; want a measured fsync", slowest, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the probe left its file: %v", err)
	}
	if _, _, err := FsyncProbe(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Error("a probe that cannot create its file reports no error")
	}
}
