package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/controlplane/ui"
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
	// Another host (localhost, not 127.0.0.1) that records what it is sent.
	var (
		mu   sync.Mutex
		sent []string
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	t.Cleanup(ts.Close)
	other := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1) + "/mcp"
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if slices.ContainsFunc(sent, func(h string) bool { return strings.Contains(h, "tok-1") }) {
			t.Errorf("the saved token was sent to another host: %q", sent)
		}
	})
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
		{"saved, the token left empty, another host", "srv-1", config.Server{Name: "w", URL: other, Transport: config.TransportHTTP, AuthType: config.AuthBearerToken}, nil},
		{"saved, the token masked, another host", "srv-1", config.Server{Name: "w", URL: other, Transport: config.TransportHTTP, AuthType: config.AuthBearerToken, AuthValue: mask}, nil},
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
	s := &config.Server{AuthType: config.AuthOAuth2, StaticHeaders: map[string]string{"X-A": mask, "X-C": "3", "X-D": mask}, Env: map[string]string{"K": mask}}
	if err := keepSecrets(s, saved); err != nil {
		t.Fatal(err)
	}
	if s.OAuth2.ClientSecret != "sec" || s.OAuth2.ClientID != "id" || s.Env["K"] != "v" ||
		len(s.StaticHeaders) != 2 || s.StaticHeaders["X-A"] != "1" || s.StaticHeaders["X-C"] != "3" {
		t.Errorf("%+v", s)
	}
	s = &config.Server{AuthType: config.AuthBearerToken}
	if err := keepSecrets(s, saved); err != nil || s.AuthValue != "a" {
		t.Errorf("%q %v", s.AuthValue, err)
	}
	typed := &config.Server{AuthType: config.AuthBearerToken, AuthValue: "new"}
	if err := keepSecrets(typed, saved); err != nil || typed.AuthValue != "new" {
		t.Errorf("a typed value was replaced: %q %v", typed.AuthValue, err)
	}
}

// Saved secrets go only where the saved server sends them: a form that
// names another destination and leaves a secret out gets an error on
// that field, and nothing is reused.
func TestKeepSecretsDestination(t *testing.T) {
	const (
		savedURL   = "https://mcp.example.com/mcp"
		savedToken = "https://auth.example.com/token"
	)
	saved := config.Server{URL: savedURL, AuthType: config.AuthBearerToken, AuthValue: "saved-tok",
		StaticHeaders: map[string]string{"X-K": "saved-hdr"}, Command: "npx", Args: []string{"-y", "pkg"}, Env: map[string]string{"K": "saved-env"},
		OAuth2: config.OAuth2Settings{TokenURL: savedToken, ClientID: "id", ClientSecret: "saved-sec"}}
	bearer := func(u, v string) config.Server {
		return config.Server{URL: u, AuthType: config.AuthBearerToken, AuthValue: v}
	}
	oauth := func(u, tok string) config.Server {
		return config.Server{URL: u, AuthType: config.AuthOAuth2, AuthValue: "typed", OAuth2: config.OAuth2Settings{TokenURL: tok, ClientID: "id", ClientSecret: mask}}
	}
	stdio := func(cmd, cwd string, args ...string) config.Server {
		return config.Server{Command: cmd, Args: args, Cwd: cwd, Env: map[string]string{"K": mask}}
	}
	for _, c := range []struct {
		name  string
		s     config.Server
		field string // the field refused; "": reused
	}{
		{"the same URL", bearer(savedURL, ""), ""},
		{"the same URL, masked", bearer(savedURL, mask), ""},
		{"another path: the same origin", bearer("https://mcp.example.com/sse", ""), ""},
		{"the default port written out, host in capitals", bearer("https://MCP.example.com:443/mcp", ""), ""},
		{"another host", bearer("https://mcp.example.org/mcp", ""), "auth_value"},
		{"another host, masked", bearer("https://mcp.example.org/mcp", mask), "auth_value"},
		{"a look-alike host", bearer("https://mcp.example.com.evil.example/mcp", ""), "auth_value"},
		{"another port", bearer("https://mcp.example.com:8443/mcp", ""), "auth_value"},
		{"plain http", bearer("http://mcp.example.com/mcp", ""), "auth_value"},
		{"another host, the secret typed", bearer("https://mcp.example.org/mcp", "typed"), ""},
		{"another host, no auth", config.Server{URL: "https://mcp.example.org/mcp", AuthType: config.AuthNone}, ""},
		{"an OpenAPI spec added", config.Server{URL: savedURL, SpecPath: "https://evil.example/spec.json", AuthType: config.AuthBearerToken}, "auth_value"},
		{"static headers, another host", config.Server{URL: "https://mcp.example.org/mcp", StaticHeaders: map[string]string{"X-K": mask}}, "static_headers"},
		{"static headers, the same origin", config.Server{URL: "https://mcp.example.com/other", StaticHeaders: map[string]string{"X-K": mask}}, ""},
		{"oauth2, the same URLs", oauth(savedURL, savedToken), ""},
		{"oauth2, another token URL", oauth(savedURL, "https://auth.evil.example/token"), "client_secret"},
		{"oauth2, another server URL", oauth("https://mcp.evil.example/mcp", savedToken), "client_secret"},
		{"stdio, the same command", stdio("npx", "", "-y", "pkg"), ""},
		{"stdio, another command", stdio("uvx", "", "-y", "pkg"), "env"},
		{"stdio, other arguments", stdio("npx", "", "-y", "evil-pkg"), "env"},
		{"stdio, another directory", stdio("npx", "/tmp", "-y", "pkg"), "env"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.s
			err := keepSecrets(&s, &saved)
			all := s.AuthValue + s.OAuth2.ClientSecret + s.StaticHeaders["X-K"] + s.Env["K"]
			if c.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *ui.FieldErrors
			if !errors.As(err, &fe) || len(*fe) != 1 || !strings.Contains((*fe)[c.field], "type") {
				t.Fatalf("error %v, want one on %s", err, c.field)
			}
			if strings.Contains(all, "saved-") || strings.Contains(err.Error(), "saved-") {
				t.Errorf("a saved secret was reused or shown: %q, %v", all, err)
			}
		})
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
