package config

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Keys of servers the sidecar adapts (stdio, legacy SSE, OpenAPI). The
// stdio supervision keys (session_mode, startup, idle_timeout,
// max_processes) are this gateway's own; LiteLLM has no such settings.

// sessionModes and startups list the accepted values, default first.
var (
	sessionModes = []string{string(upstreams.SessionShared), string(upstreams.SessionPerClient)}
	startups     = []string{string(upstreams.StartupLazy), string(upstreams.StartupEager)}
)

// maxIdleTimeout bounds idle_timeout (seconds in YAML).
const maxIdleTimeout = 7 * 24 * time.Hour

func parseSessionMode(p *parser, n *yaml.Node, path string, s *Server) bool {
	v, ok := p.enum(n, path, sessionModes)
	if ok {
		s.SessionMode = upstreams.SessionMode(v)
	}
	return ok
}

func parseStartup(p *parser, n *yaml.Node, path string, s *Server) bool {
	v, ok := p.enum(n, path, startups)
	if ok {
		s.Startup = upstreams.Startup(v)
	}
	return ok
}

func parseIdleTimeout(p *parser, n *yaml.Node, path string, s *Server) bool {
	f, ok := p.number(n, path)
	if !ok {
		return false
	}
	if f <= 0 || f > maxIdleTimeout.Seconds() {
		p.errorf(n, path, "must be between 0 and %d seconds", int(maxIdleTimeout.Seconds()))
		return false
	}
	s.IdleTimeout = time.Duration(f * float64(time.Second))
	return true
}

func parseMaxProcesses(p *parser, n *yaml.Node, path string, s *Server) bool {
	i, ok := p.integer(n, path)
	if !ok {
		return false
	}
	if i < 1 || i > 4096 {
		p.errorf(n, path, "must be between 1 and 4096")
		return false
	}
	s.MaxProcesses = int(i)
	return true
}

// adapted reports whether the sidecar adapts s (stdio, legacy SSE or
// OpenAPI) rather than Envoy reaching it directly.
func (s *Server) adapted() bool {
	return s.SpecPath != "" || s.Transport == TransportStdio || s.Transport == TransportSSE
}

// checkSpecPath checks spec_path: a file path or an http(s) URL. The file
// is read when the gateway starts, not here.
func (p *parser) checkSpecPath(s *Server, src serverSource, path string) {
	if s.SpecPath == "" {
		return
	}
	sp := join(path, "spec_path")
	if s.Transport == TransportStdio {
		p.errorf(src.node("spec_path"), sp, "cannot be combined with transport stdio")
		return
	}
	if strings.Contains(s.SpecPath, "://") {
		if msg := checkHTTPURL(s.SpecPath); msg != "" {
			p.errorf(src.node("spec_path"), sp, "%s", msg)
		}
		return
	}
	if strings.ContainsRune(s.SpecPath, 0) {
		p.errorf(src.node("spec_path"), sp, "must be a file path or an http(s) URL")
	}
}

// adapter returns what the sidecar needs to adapt s, or nil for servers
// Envoy reaches itself.
func (s *Server) adapter() *upstreams.Adapter {
	if !s.adapted() {
		return nil
	}
	a := &upstreams.Adapter{
		Headers:       s.AuthHeaders(),
		Timeout:       s.Timeout,
		MaxConcurrent: s.MaxConcurrentRequests,
	}
	switch {
	case s.SpecPath != "":
		a.Kind = upstreams.AdapterOpenAPI
		a.SpecPath = s.SpecPath
		a.Source = stripUserinfo(s.URL)
	case s.Transport == TransportSSE:
		a.Kind = upstreams.AdapterSSE
		a.Source = stripUserinfo(s.URL)
	default:
		a.Kind = upstreams.AdapterStdio
		a.Headers = nil
		a.Command = s.Command
		a.Args = slices.Clone(s.Args)
		a.Env = s.Env
		a.Dir = s.Cwd
		a.SessionMode = s.SessionMode
		a.Startup = s.Startup
		a.IdleTimeout = s.IdleTimeout
		a.MaxProcesses = s.MaxProcesses
	}
	if a.SessionMode == "" {
		a.SessionMode = upstreams.SessionShared
	}
	if a.Startup == "" {
		a.Startup = upstreams.StartupLazy
	}
	return a
}

// stripUserinfo drops credentials embedded in a URL (reported as not
// supported); "" stays "".
func stripUserinfo(v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil {
		return v
	}
	u.User = nil
	return u.String()
}
