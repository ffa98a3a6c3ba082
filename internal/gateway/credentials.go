package gateway

import (
	"cmp"
	"fmt"
	"reflect"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/metrics"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
	"github.com/mcpgw/mcpgw/upstreams/credentials/tokens"
)

// buildCredentials gives every oauth2 client_credentials upstream its
// token source (one per process: each replica caches its own tokens; for
// an adapted server, its adapter's) and returns the rewriter routed calls
// get their headers from.
func buildCredentials(cfg *config.Config, ups []*upstreams.Upstream, aliases []string, prev *Runtime) (*credentials.Rewriter, error) {
	byAlias := make(map[string]*upstreams.Upstream, len(ups))
	for _, u := range ups {
		byAlias[u.Alias] = u
	}
	// A running server's token source is kept while its OAuth2 settings
	// stay: its cached token stays good, and the upstream value stays the
	// same connection (upstreams.SameConnection compares sources).
	prevSource := func(s *config.Server) credentials.TokenSource {
		if prev == nil {
			return nil
		}
		var was *config.Server
		for i := range prev.Config.Servers {
			if prev.Config.Servers[i].Alias == s.Alias {
				was = &prev.Config.Servers[i]
			}
		}
		if was == nil || !was.FetchesToken() || !reflect.DeepEqual(was.OAuth2, s.OAuth2) {
			return nil
		}
		for _, u := range prev.Upstreams {
			if u.Alias != s.Alias {
				continue
			}
			if u.Adapter != nil {
				return u.Adapter.Token
			}
			return u.Credentials.Token
		}
		return nil
	}
	var err error
	for i := range cfg.Servers {
		s := &cfg.Servers[i]
		u := byAlias[s.Alias]
		if u == nil || !s.FetchesToken() || (u.Adapter == nil && u.Credentials.Scheme != credentials.SchemeOAuth2) {
			continue
		}
		var src credentials.TokenSource
		if kept := prevSource(s); kept != nil {
			src = kept
		} else if src, err = tokens.New(tokens.Config{
			Server:       s.Alias,
			TokenURL:     s.OAuth2.TokenURL,
			ClientID:     s.OAuth2.ClientID,
			ClientSecret: s.OAuth2.ClientSecret,
			Scopes:       s.OAuth2.Scopes,
			AuthMethod:   tokens.AuthMethod(s.OAuth2.TokenEndpointAuthMethod),
		}, tokens.Options{}); err != nil {
			return nil, err
		}
		if u.Adapter != nil {
			// The sidecar's adapter sends it to the real server.
			u.Adapter.Token = src
			u.Adapter.TokenHeader = cmp.Or(s.AuthHeaderName, "Authorization")
			continue
		}
		u.Credentials.Token = src
	}
	r, err := credentials.NewRewriter(aliases, credentials.Settings{
		KeyHeader:            cfg.General.KeyHeaderName,
		KeyFromAuthorization: cfg.Access.KeyFromAuthorization,
		LegacyHeader:         cfg.General.MCPClientSideAuthHeaderName,
	})
	if err != nil {
		return nil, fmt.Errorf("build credentials: %w", err)
	}
	return r, nil
}

// tokenCounter is a token source that counts its token requests
// (tokens.Source).
type tokenCounter interface {
	Server() string
	Fetches() map[string]uint64
}

// tokenFetches are the token requests of rt's OAuth2 token sources, for
// metrics: the routed calls' and the adapters' (one source per server).
// Replicas after the first have sources of their own, not counted (more
// than one replica is for tests).
func tokenFetches(rt *Runtime) []metrics.TokenFetch {
	if rt == nil {
		return nil
	}
	var out []metrics.TokenFetch
	for _, u := range rt.Upstreams {
		src := u.Credentials.Token
		if u.Adapter != nil {
			src = u.Adapter.Token
		}
		c, ok := src.(tokenCounter)
		if !ok {
			continue
		}
		for outcome, n := range c.Fetches() {
			out = append(out, metrics.TokenFetch{Server: c.Server(), Outcome: outcome, N: n})
		}
	}
	return out
}
