package gateway

import (
	"net/url"
	"slices"
	"strings"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// Upstreams turns the configured servers into their runtime values, in
// file order: config is plain data, and this is where it becomes what
// the router, the sidecar and Envoy's clusters are built from. Servers
// the sidecar adapts (stdio, legacy SSE, spec_path OpenAPI) get an
// Adapter and no URL until upstreams.BindAdapters gives them the
// sidecar's endpoint; their auth headers go to the real server through
// the adapter, not on the Envoy hop, so their Credentials are empty.
// Credentials embedded in a URL are dropped (see Config.Unsupported).
// Each call returns new values.
func Upstreams(cfg *config.Config) []*upstreams.Upstream {
	out := make([]*upstreams.Upstream, 0, len(cfg.Servers))
	for i := range cfg.Servers {
		s := &cfg.Servers[i]
		u := &upstreams.Upstream{
			Alias:       s.Alias,
			Transport:   upstreams.Transport(s.Transport),
			Cluster:     upstreams.ClusterName(s.Alias),
			Credentials: serverCredentials(s),
			Description: s.Description,

			AllowedTools:    s.AllowedTools,
			DisallowedTools: s.DisallowedTools,
			AccessGroups:    s.AccessGroups,
			Timeout:         s.Timeout,
		}
		if u.Description == "" {
			u.Description = s.MCPInfo.Description
		}
		if u.Adapter = adapterOf(s); u.Adapter != nil {
			u.Credentials = credentials.Server{}
		} else if s.URL != "" {
			if parsed, err := url.Parse(s.URL); err == nil {
				parsed.User = nil
				u.URL = parsed
			}
		}
		out = append(out, u)
	}
	return out
}

// serverCredentials returns how the gateway authenticates to the server
// and which client headers it may receive, for package credentials: the
// auth_type and the header its auth_value derives, static_headers and
// extra_headers. An oauth2 server's token source is attached by
// buildCredentials. Values are secrets.
func serverCredentials(s *config.Server) credentials.Server {
	c := credentials.Server{Extra: slices.Clone(s.ExtraHeaders)}
	switch s.AuthType {
	case config.AuthAPIKey, config.AuthBearerToken, config.AuthBasic, config.AuthAuthorization, config.AuthToken:
		c.Scheme = credentials.Scheme(s.AuthType)
		c.AuthHeader = s.AuthHeaderName
		if name, v, ok := credentials.SchemeHeader(c.Scheme, s.AuthValue); ok {
			if c.AuthHeader != "" {
				name = c.AuthHeader
			}
			c.Auth = map[string]string{name: v}
		}
	case config.AuthOAuth2:
		c.Scheme = credentials.SchemeOAuth2
		c.AuthHeader = s.AuthHeaderName
	}
	if len(s.StaticHeaders) > 0 {
		c.Static = make(map[string]string, len(s.StaticHeaders))
		for name, v := range s.StaticHeaders {
			c.Static[strings.TrimSpace(name)] = strings.Trim(v, " \t")
		}
	}
	return c
}

// authHeaders returns the headers sent to the server on every request:
// the one its static auth_type derives from auth_value, then
// static_headers, which win over it (header names compared ignoring
// case). Values are secrets: never log them. It returns nil when there
// are none.
//
// The mapping follows LiteLLM's MCPClient._get_auth_headers (see
// credentials.SchemeHeader):
//
//	api_key        X-API-Key: <v>
//	bearer_token   Authorization: Bearer <v>       (a leading "Bearer " in v is dropped)
//	basic          Authorization: Basic <base64(v)> (v is "user:password"; a value
//	                                                 already written "Basic <base64>"
//	                                                 is used as is)
//	authorization  Authorization: <v>              (v is the whole header value)
//	token          Authorization: token <v>        (a leading "token " in v is dropped)
//
// Other auth types (oauth2, aws_sigv4, ...) add no header here. As in
// LiteLLM, surrounding whitespace is trimmed from names and values.
func authHeaders(s *config.Server) map[string]string {
	h := make(map[string]string)
	if cs := serverCredentials(s); cs.Scheme != credentials.SchemeOAuth2 {
		for name, v := range cs.Auth {
			h[name] = v
		}
	}
	for name, v := range s.StaticHeaders {
		for old := range h {
			if strings.EqualFold(old, name) {
				delete(h, old)
			}
		}
		h[name] = v
	}
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for name, v := range h {
		out[strings.TrimSpace(name)] = strings.Trim(v, " \t")
	}
	return out
}

// adapterOf returns what the sidecar needs to adapt s, or nil for servers
// Envoy reaches itself.
func adapterOf(s *config.Server) *upstreams.Adapter {
	if !s.Adapted() {
		return nil
	}
	a := &upstreams.Adapter{
		Headers:       authHeaders(s),
		Timeout:       s.Timeout,
		MaxConcurrent: s.MaxConcurrentRequests,
	}
	switch {
	case s.SpecPath != "":
		a.Kind = upstreams.AdapterOpenAPI
		a.SpecPath = s.SpecPath
		a.Source = stripUserinfo(s.URL)
	case s.Transport == config.TransportSSE:
		a.Kind = upstreams.AdapterSSE
		a.Source = stripUserinfo(s.URL)
	default:
		a.Kind = upstreams.AdapterStdio
		a.Headers = nil
		a.Command = s.Command
		a.Args = slices.Clone(s.Args)
		a.Env = s.Env
		a.Dir = s.Cwd
		a.SessionMode = upstreams.SessionMode(s.SessionMode)
		a.Startup = upstreams.Startup(s.Startup)
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
