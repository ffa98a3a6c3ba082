package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/controlplane/ui"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/adapter"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
)

// testAlias names the server under test: it is nobody's alias, and the
// test's adapter endpoint is its own.
const testAlias = "connection-test"

// maxTestTools bounds the tools a connection test lists.
const maxTestTools = 1000

// serverTester connects to a server as given by the admin UI's form
// (saved or not) and lists its tools: the UI's "Test connection". The
// caller is an admin (the UI signs in with the master key) and has
// checked the stdio command against the admin API's allowed list.
type serverTester struct {
	inst *Instance
	log  *slog.Logger
}

// TestServer lists s's tools. With id (the form edits a saved server),
// credentials the form leaves empty or masked are the saved server's,
// when they would go where the saved ones go (keepSecrets).
// The connection goes as discovery's does: the go-sdk client over the
// server's transport, with its credentials (a token fetched for an
// OAuth2 client-credentials server); stdio, legacy SSE and OpenAPI
// servers through an adapter of their own, on a loopback listener that
// lives for the test.
func (t serverTester) TestServer(ctx context.Context, id string, s config.Server) ([]json.RawMessage, error) {
	tools, err := t.test(ctx, id, &s)
	var fe *ui.FieldErrors
	if errors.As(err, &fe) {
		return nil, err // names fields, holds no secret
	}
	if err != nil {
		// The saved secrets may be quoted by the server or a library.
		return tools, errors.New(redactSecrets(err.Error(), &s))
	}
	return tools, nil
}

// redactSecrets replaces s's secret values in msg.
func redactSecrets(msg string, s *config.Server) string {
	secrets := []string{s.AuthValue, s.OAuth2.ClientSecret}
	for _, v := range s.StaticHeaders {
		secrets = append(secrets, v)
	}
	for _, v := range s.Env {
		secrets = append(secrets, v)
	}
	for _, v := range secrets {
		if len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, mask)
		}
	}
	return msg
}

func (t serverTester) test(ctx context.Context, id string, s *config.Server) ([]json.RawMessage, error) {
	cur := t.inst.Current().Config
	if id != "" {
		for i := range cur.Servers {
			if saved := &cur.Servers[i]; saved.ServerID == id || (saved.ServerID == "" && saved.Name == id) {
				if err := keepSecrets(s, saved); err != nil {
					return nil, err
				}
			}
		}
	}
	s.Alias = testAlias
	cfg := &config.Config{General: cur.General, Access: cur.Access, Servers: []config.Server{*s}}
	ups := Upstreams(cfg)
	if _, err := buildCredentials(cfg, ups, []string{testAlias}, nil); err != nil {
		return nil, err
	}
	up := ups[0]
	if up.Adapter != nil {
		set, err := adapter.New(adapter.Options{Upstreams: ups, Logger: t.log.With("component", "connection_test")})
		if err != nil {
			return nil, err
		}
		defer set.Close()
		lis, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		srv := &http.Server{Handler: set.Handler(), ReadHeaderTimeout: connectionTestHeaderTimeout}
		go srv.Serve(lis)
		defer srv.Close()
		bound, err := upstreams.BindAdapters(ups, lis.Addr().String())
		if err != nil {
			return nil, err
		}
		up = bound[0]
		if err := set.Start(ctx); err != nil {
			return nil, err
		}
	}
	tr, err := discovery.NewTransport(up, upstreams.HTTPClient(up))
	if err != nil {
		return nil, err
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "mcpgw-connection-test", Version: "1"}, nil).
		Connect(ctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: discovery.ProtocolVersion})
	if err != nil {
		return nil, err
	}
	defer cs.Close()
	var out []json.RawMessage
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		if len(out) == maxTestTools {
			return out, fmt.Errorf("the server lists more than %d tools; the first %d are shown", maxTestTools, maxTestTools)
		}
		b, err := json.Marshal(tool)
		if err != nil {
			return nil, errors.New("a tool could not be encoded")
		}
		out = append(out, b)
	}
	return out, nil
}

// connectionTestHeaderTimeout bounds a request's headers on the test's
// adapter listener (only this process's client talks to it).
const connectionTestHeaderTimeout = 10 * time.Second

// mask is the admin API's stand-in for a stored secret value.
const mask = "********"

// keepSecrets gives s the saved server's secrets the form left empty or
// masked: the admin API never shows them, so the form cannot send them.
// A saved secret goes only where the saved server sends it: if the form
// sends it elsewhere (a mistyped URL, another command), nothing is
// reused and the error names each such field, to be typed again.
//
// Where is, for the auth value and static headers, the URL's scheme,
// host and port (a path on the same origin reaches the same operator,
// who sees every request with the secret already; correcting /mcp to
// /sse should not need the secrets again) and an OpenAPI server's spec
// (its servers may name the base URL); for an OAuth2 client secret,
// that and the token URL's origin; for env values, the command, its
// arguments and working directory (npx, uvx, python, docker: the
// program is named by the arguments).
func keepSecrets(s, saved *config.Server) error {
	sameURL := sameOrigin(s.URL, saved.URL) && s.SpecPath == saved.SpecPath
	sameToken := sameURL && sameOrigin(s.OAuth2.TokenURL, saved.OAuth2.TokenURL)
	sameCommand := s.Command == saved.Command && slices.Equal(s.Args, saved.Args) && s.Cwd == saved.Cwd
	const again = ": type it again to test with it"
	bad := ui.FieldErrors{}
	leftOut := func(v string) bool { return v == "" || v == mask }
	if leftOut(s.AuthValue) && saved.AuthValue != "" && s.AuthType != "" && s.AuthType != config.AuthNone {
		if sameURL {
			s.AuthValue = saved.AuthValue
		} else {
			bad["auth_value"] = "the saved auth value is sent only to the saved server's URL (scheme, host and port), and the URL now names another" + again
		}
	}
	if leftOut(s.OAuth2.ClientSecret) && saved.OAuth2.ClientSecret != "" && s.AuthType == config.AuthOAuth2 {
		if sameToken {
			s.OAuth2.ClientSecret = saved.OAuth2.ClientSecret
			if s.OAuth2.ClientID == "" {
				s.OAuth2.ClientID = saved.OAuth2.ClientID
			}
			if len(s.OAuth2.Scopes) == 0 {
				s.OAuth2.Scopes = slices.Clone(saved.OAuth2.Scopes)
			}
		} else {
			bad["client_secret"] = "the saved client secret is sent only to the saved token URL and its tokens only to the saved server's URL (scheme, host and port), and the form now names another" + again
		}
	}
	if masked(s.StaticHeaders) {
		if sameURL {
			s.StaticHeaders = unmask(s.StaticHeaders, saved.StaticHeaders)
		} else {
			bad["static_headers"] = "the saved header values (" + mask + ") are sent only to the saved server's URL (scheme, host and port), and the URL now names another: type them again to test with them"
		}
	}
	if masked(s.Env) {
		if sameCommand {
			s.Env = unmask(s.Env, saved.Env)
		} else {
			bad["env"] = "the saved env values (" + mask + ") are given only to the saved command with its arguments, and the form now runs another: type them again to test with them"
		}
	}
	if len(bad) > 0 {
		return &bad
	}
	return nil
}

// sameOrigin reports whether URLs a and b have the same scheme, host
// and port (a default port the same as none); unparsable: equal text.
func sameOrigin(a, b string) bool {
	if a == b {
		return true
	}
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil || ua.Host == "" || ub.Host == "" {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Hostname(), ub.Hostname()) && port(ua) == port(ub)
}

// port is u's port, the scheme's default if none.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// masked reports whether m has a masked value.
func masked(m map[string]string) bool {
	for _, v := range m {
		if v == mask {
			return true
		}
	}
	return false
}

func unmask(m, saved map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := maps.Clone(m)
	for k, v := range out {
		if v == mask {
			if old, ok := saved[k]; ok {
				out[k] = old
			} else {
				delete(out, k)
			}
		}
	}
	return out
}
