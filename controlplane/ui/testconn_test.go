package ui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config"
)

// fakeTester records what a connection test was asked and answers
// with a tool whose description is an XSS payload, or with err.
type fakeTester struct {
	calls []config.Server
	ids   []string
	err   error
}

func (f *fakeTester) test(_ context.Context, id string, s config.Server) ([]json.RawMessage, error) {
	f.calls = append(f.calls, s)
	f.ids = append(f.ids, id)
	if f.err != nil {
		return nil, f.err
	}
	a, _ := json.Marshal(map[string]any{"name": "forecast", "description": xss})
	b, _ := json.Marshal(map[string]any{"name": "alerts", "description": "Weather alerts"})
	return []json.RawMessage{a, b}, nil
}

func TestConnectionTest(t *testing.T) {
	ft := &fakeTester{}
	e := newEnvWith(t, func(o *Options) { o.TestServer = ft.test; o.StdioCommands = []string{"mcp-local"} })
	csrf := e.signedIn()
	for _, c := range []struct {
		name   string
		form   url.Values
		called bool
		want   []string
	}{
		{"an unsaved HTTP server", url.Values{"transport": {"http"}, "server_name": {"weather"}, "url": {"https://weather.example/mcp"}},
			true, []string{`data-ok="true"`, "Connected: 2 tool(s).", `<tr data-tool="alerts">`, "&lt;img src=x onerror=alert(1)&gt;", `value="https://weather.example/mcp"`}},
		{"no name yet", url.Values{"transport": {"sse"}, "url": {"https://sse.example/sse"}},
			true, []string{"Connected: 2 tool(s)."}},
		{"a stdio command of the allowed list", url.Values{"transport": {"stdio"}, "server_name": {"mem"}, "command": {"npx"}, "args": {"-y\n@modelcontextprotocol/server-memory"}},
			true, []string{"Connected"}},
		{"an extra command (LITELLM_MCP_STDIO_EXTRA_COMMANDS)", url.Values{"transport": {"stdio"}, "server_name": {"mem"}, "command": {"mcp-local"}},
			true, []string{"Connected"}},
		{"a command outside the list", url.Values{"transport": {"stdio"}, "server_name": {"sh"}, "command": {"bash"}, "args": {"-c\nrm -rf /"}},
			false, []string{`id="command-error">command bash is not allowed for stdio servers`, "Not tested: the command is not allowed."}},
		{"credentials in the URL", url.Values{"transport": {"http"}, "server_name": {"x"}, "url": {"https://u:p@h.example/mcp"}},
			false, []string{`id="url-error"`, "Not tested"}},
		{"a field the validator refuses", url.Values{"transport": {"http"}, "server_name": {"x"}, "url": {"ftp://h.example/mcp"}},
			false, []string{`id="url-error"`, "Not tested: the fields are not valid."}},
		{"a bad header line", url.Values{"transport": {"http"}, "server_name": {"x"}, "url": {"https://h.example/mcp"}, "static_headers": {"no separator"}},
			false, []string{`id="static_headers-error"`}},
	} {
		before := len(ft.calls)
		c.form.Set("csrf", csrf)
		resp, page := e.do("POST", "/ui/server/test", c.form)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", c.name, resp.StatusCode)
		}
		if called := len(ft.calls) > before; called != c.called {
			t.Errorf("%s: tested %v, want %v", c.name, called, c.called)
		}
		for _, w := range c.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page lacks %s\n%s", c.name, w, page)
			}
		}
		if strings.Contains(page, "<img src=x") {
			t.Errorf("%s: a tool description is not escaped", c.name)
		}
	}
	if s := ft.calls[0]; s.URL != "https://weather.example/mcp" || s.Transport != config.TransportHTTP {
		t.Errorf("the server tested: %+v", s)
	}
	if s := ft.calls[2]; s.Command != "npx" || strings.Join(s.Args, " ") != "-y @modelcontextprotocol/server-memory" {
		t.Errorf("the stdio server tested: %+v", s)
	}
	// Nothing was saved.
	if _, page := e.do("GET", "/ui/servers", nil); strings.Contains(page, `data-server="weather"`) {
		t.Error("a connection test saved the server")
	}
}

func TestConnectionTestError(t *testing.T) {
	const secret = "sk-upstream-secret-42"
	ft := &fakeTester{err: errors.New(`connect: calling "initialize": Post "https://h.example/mcp?token=qs-secret": 401 for Bearer ` + secret + ` and header hv-secret-1`)}
	e := newEnvWith(t, func(o *Options) { o.TestServer = ft.test })
	csrf := e.signedIn()
	_, page := e.do("POST", "/ui/server/test", url.Values{"csrf": {csrf}, "transport": {"http"}, "server_name": {"x"},
		"url": {"https://h.example/mcp?token=qs-secret"}, "auth_type": {"bearer_token"}, "auth_value": {secret}, "static_headers": {"X-K: hv-secret-1"}})
	if !strings.Contains(page, `data-ok="false"`) || !strings.Contains(page, "The connection failed: connect: calling &#34;initialize&#34;: Post &#34;&lt;url&gt;&#34;: 401 for Bearer ******** and header ********") {
		t.Errorf("the error:\n%s", page)
	}
	// The form shows what was typed (the header line; never auth_value);
	// the error repeats none of it.
	msg := regexp.MustCompile(`(?s)<section class="card" id="connection-test".*?</section>`).FindString(page)
	for _, s := range []string{secret, "hv-secret-1", "qs-secret"} {
		if strings.Contains(msg, s) {
			t.Errorf("the error shows %s:\n%s", s, msg)
		}
	}
	if strings.Contains(page, secret) {
		t.Error("auth_value is on the page")
	}
	if ft.calls[0].AuthValue != secret || ft.ids[0] != "" {
		t.Errorf("the test got auth_value %q, id %q", ft.calls[0].AuthValue, ft.ids[0])
	}
	// Editing a saved server: its id goes along (the gateway fills the
	// saved secrets the form leaves empty).
	e.do("POST", "/ui/server/test", url.Values{"csrf": {csrf}, "server_id": {"srv-1"}, "transport": {"http"}, "server_name": {"x"}, "url": {"https://h.example/mcp"}})
	if ft.ids[1] != "srv-1" {
		t.Errorf("the saved server's id: %q", ft.ids[1])
	}
	// Without a tester.
	e2 := newEnv(t)
	csrf2 := e2.signedIn()
	if _, page := e2.do("POST", "/ui/server/test", url.Values{"csrf": {csrf2}, "transport": {"http"}, "server_name": {"x"}, "url": {"https://h.example/mcp"}}); !strings.Contains(page, "cannot test connections") {
		t.Errorf("without TestServer:\n%s", page)
	}
}

// A tester's field errors (saved secrets the form would send to another
// destination) are shown on their fields, the test not run.
func TestConnectionTestFieldErrors(t *testing.T) {
	ft := &fakeTester{err: &FieldErrors{
		"auth_value": "the saved auth value is sent only to the saved server's URL (scheme, host and port), and the URL now names another: type it again to test with it",
		"env":        "the saved env values are given only to the saved command with its arguments, and the form now runs another: type them again to test with them",
	}}
	e := newEnvWith(t, func(o *Options) { o.TestServer = ft.test })
	csrf := e.signedIn()
	resp, page := e.do("POST", "/ui/server/test", url.Values{"csrf": {csrf}, "server_id": {"srv-1"}, "transport": {"http"}, "server_name": {"x"},
		"url": {"https://typo.example/mcp"}, "auth_type": {"bearer_token"}, "auth_value": {mask}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	for _, w := range []string{
		`id="auth_value-error">the saved auth value is sent only to the saved server&#39;s URL (scheme, host and port), and the URL now names another: type it again to test with it`,
		`id="env-error">the saved env values are given only`,
		"Not tested: the saved secrets are not sent to a new destination; type them again.",
		`data-ok="false"`,
	} {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %s\n%s", w, page)
		}
	}
	if strings.Contains(page, "The connection failed") {
		t.Errorf("shown as a failed connection:\n%s", page)
	}
}

// TestCSRFToolPages: the Try-it, connection-test and allowed_params POSTs
// are refused without the session's token, and do nothing.
func TestCSRFToolPages(t *testing.T) {
	ft := &fakeTester{}
	e := newEnvWith(t, func(o *Options) { o.TestServer = ft.test; o.GatewayURL = "http://127.0.0.1:1" })
	csrf := e.signedIn()
	for _, path := range []string{"/ui/tryit", "/ui/tryit/key", "/ui/server/test", "/ui/tools/params"} {
		for _, token := range []string{"", "x" + csrf} {
			form := url.Values{"csrf": {token}, "transport": {"http"}, "server_name": {"w"}, "url": {"https://h.example/mcp"},
				"key": {userKey}, "tool": {"t"}, "server_id": {"wiki"}}
			if resp, _ := e.do("POST", path, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with token %.4q: %d, want 403", path, token, resp.StatusCode)
			}
		}
	}
	if len(ft.calls) > 0 {
		t.Error("a connection was tested without the CSRF token")
	}
	if _, page := e.do("GET", "/ui/tryit", nil); !strings.Contains(page, `id="try-key"`) {
		t.Error("a key was set without the CSRF token")
	}
}
