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
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

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
// credentials the form leaves empty or masked are the saved server's.
// The connection goes as discovery's does: the go-sdk client over the
// server's transport, with its credentials (a token fetched for an
// OAuth2 client-credentials server); stdio, legacy SSE and OpenAPI
// servers through an adapter of their own, on a loopback listener that
// lives for the test.
func (t serverTester) TestServer(ctx context.Context, id string, s config.Server) ([]json.RawMessage, error) {
	tools, err := t.test(ctx, id, &s)
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
				keepSecrets(s, saved)
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
func keepSecrets(s, saved *config.Server) {
	if s.AuthValue == "" || s.AuthValue == mask {
		s.AuthValue = saved.AuthValue
	}
	if s.OAuth2.ClientID == "" {
		s.OAuth2.ClientID = saved.OAuth2.ClientID
	}
	if s.OAuth2.ClientSecret == "" || s.OAuth2.ClientSecret == mask {
		s.OAuth2.ClientSecret = saved.OAuth2.ClientSecret
	}
	if len(s.OAuth2.Scopes) == 0 {
		s.OAuth2.Scopes = slices.Clone(saved.OAuth2.Scopes)
	}
	s.StaticHeaders = unmask(s.StaticHeaders, saved.StaticHeaders)
	s.Env = unmask(s.Env, saved.Env)
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
