package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/config"
)

// tokenUpstream serves one tool, echo, to requests with
// "Authorization: Bearer tok-1"; others get 401 with a body quoting the
// header they sent (as a careless server might).
func tokenUpstream(t *testing.T) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "tok", Version: "1"}, nil)
	srv.AddTool(&mcp.Tool{Name: "echo", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer tok-1" {
			http.Error(w, "refused: "+got, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func testerWith(servers ...config.Server) serverTester {
	inst := &Instance{}
	inst.current.Store(&Runtime{Config: &config.Config{Servers: servers}})
	return serverTester{inst: inst, log: slog.New(slog.DiscardHandler)}
}

func toolNames(t *testing.T, raw []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, b := range raw {
		var tl mcp.Tool
		if err := json.Unmarshal(b, &tl); err != nil {
			t.Fatal(err)
		}
		out = append(out, tl.Name)
	}
	return out
}

func TestServerTesterHTTP(t *testing.T) {
	u := tokenUpstream(t)
	saved := config.Server{ServerID: "srv-1", Name: "w", Alias: "w", URL: u, Transport: config.TransportHTTP,
		AuthType: config.AuthBearerToken, AuthValue: "tok-1"}
	tester := testerWith(saved)
	for _, c := range []struct {
		name string
		id   string
		s    config.Server
		want []string // nil: an error
	}{
		{"unsaved, with its token", "", config.Server{Name: "n", URL: u, Transport: config.TransportHTTP, AuthType: config.AuthBearerToken, AuthValue: "tok-1"}, []string{"echo"}},
		{"saved, the token left empty", "srv-1", config.Server{Name: "w", URL: u, Transport: config.TransportHTTP, AuthType: config.AuthBearerToken}, []string{"echo"}},
		{"saved, the token masked", "srv-1", config.Server{Name: "w", URL: u, Transport: config.TransportHTTP, AuthType: config.AuthBearerToken, AuthValue: mask}, []string{"echo"}},
		{"unsaved, a wrong token", "", config.Server{Name: "n", URL: u, Transport: config.TransportHTTP, AuthType: config.AuthBearerToken, AuthValue: "tok-wrong"}, nil},
		{"another server's id does not lend its token", "srv-2", config.Server{Name: "n", URL: u, Transport: config.TransportHTTP, AuthType: config.AuthBearerToken}, nil},
	} {
		raw, err := tester.TestServer(t.Context(), c.id, c.s)
		if c.want == nil {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			} else if strings.Contains(err.Error(), "tok-wrong") || strings.Contains(err.Error(), "tok-1") {
				t.Errorf("%s: the error shows the token: %v", c.name, err)
			}
			continue
		}
		if err != nil || !slices.Equal(toolNames(t, raw), c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, toolNames(t, raw), err, c.want)
		}
	}
}

// An OpenAPI server is tested through an adapter of its own.
func TestServerTesterOpenAPI(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) }))
	t.Cleanup(api.Close)
	spec := filepath.Join(t.TempDir(), "spec.json")
	os.WriteFile(spec, []byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/pets":{"get":{"operationId":"listPets","responses":{"200":{"description":"ok"}}}}}}`), 0o644)
	raw, err := testerWith().TestServer(t.Context(), "", config.Server{Name: "pets", URL: api.URL, SpecPath: spec, Transport: config.TransportHTTP})
	if err != nil || !slices.Equal(toolNames(t, raw), []string{"listpets"}) {
		t.Fatalf("%v %v", toolNames(t, raw), err)
	}
}

func TestKeepSecrets(t *testing.T) {
	saved := &config.Server{AuthValue: "a", StaticHeaders: map[string]string{"X-A": "1", "X-B": "2"}, Env: map[string]string{"K": "v"},
		OAuth2: config.OAuth2Settings{ClientID: "id", ClientSecret: "sec", Scopes: []string{"s"}}}
	s := &config.Server{StaticHeaders: map[string]string{"X-A": mask, "X-C": "3", "X-D": mask}, Env: map[string]string{"K": mask}}
	keepSecrets(s, saved)
	if s.AuthValue != "a" || s.OAuth2.ClientSecret != "sec" || s.OAuth2.ClientID != "id" || s.Env["K"] != "v" ||
		len(s.StaticHeaders) != 2 || s.StaticHeaders["X-A"] != "1" || s.StaticHeaders["X-C"] != "3" {
		t.Errorf("%+v", s)
	}
	typed := &config.Server{AuthValue: "new"}
	keepSecrets(typed, saved)
	if typed.AuthValue != "new" {
		t.Errorf("a typed value was replaced: %q", typed.AuthValue)
	}
}

func TestRedactSecrets(t *testing.T) {
	s := &config.Server{AuthValue: "tok-secret", StaticHeaders: map[string]string{"X-K": "hdr-secret"}, Env: map[string]string{"A": "env-secret", "B": "1"},
		OAuth2: config.OAuth2Settings{ClientSecret: "cs-secret"}}
	got := redactSecrets("tok-secret hdr-secret env-secret cs-secret 1", s)
	if got != "******** ******** ******** ******** 1" {
		t.Errorf("%q", got)
	}
}
