package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t *testing.T, method, url, sessionID, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Host = "gateway.example.com" // as Envoy forwards it
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	if sessionID != "" {
		req.Header.Set("Mcp-Session-Id", sessionID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

const listBody = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`

// TestHandlerHTTP pins the go-sdk behaviour the gateway relies on: a
// proxied Host is accepted on loopback, a stateless server ignores
// Mcp-Session-Id and refuses GET/DELETE, a stateful one answers 404 to an
// unknown session.
func TestHandlerHTTP(t *testing.T) {
	stateless := httptest.NewServer(Handler(true))
	defer stateless.Close()
	stateful := httptest.NewServer(Handler(false))
	defer stateful.Close()

	tests := []struct {
		name, method, url, session, body string
		want                             int
	}{
		{"stateless, no session", http.MethodPost, stateless.URL, "", listBody, http.StatusOK},
		{"stateless, any session id", http.MethodPost, stateless.URL, "whatever", listBody, http.StatusOK},
		{"stateless GET", http.MethodGet, stateless.URL, "whatever", "", http.StatusMethodNotAllowed},
		{"stateless DELETE", http.MethodDelete, stateless.URL, "whatever", "", http.StatusMethodNotAllowed},
		{"stateful, unknown session", http.MethodPost, stateful.URL, "whatever", listBody, http.StatusNotFound},
		{"stateful GET, unknown session", http.MethodGet, stateful.URL, "whatever", "", http.StatusNotFound},
		{"stateful initialize, proxied Host", http.MethodPost, stateful.URL, "",
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
			http.StatusOK},
	}
	for _, tt := range tests {
		if got := do(t, tt.method, tt.url, tt.session, tt.body).StatusCode; got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
}
