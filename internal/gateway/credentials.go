package gateway

import (
	"cmp"
	"fmt"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
	"github.com/mcpgw/mcpgw/upstreams/credentials/tokens"
)

// buildCredentials gives every oauth2 client_credentials upstream its
// token source (one per process: each replica caches its own tokens; for
// an adapted server, its adapter's) and returns the rewriter routed calls
// get their headers from.
func buildCredentials(cfg *config.Config, ups []*upstreams.Upstream, aliases []string) (*credentials.Rewriter, error) {
	byAlias := make(map[string]*upstreams.Upstream, len(ups))
	for _, u := range ups {
		byAlias[u.Alias] = u
	}
	for i := range cfg.Servers {
		s := &cfg.Servers[i]
		u := byAlias[s.Alias]
		if u == nil || !s.FetchesToken() || (u.Adapter == nil && u.Credentials.Scheme != credentials.SchemeOAuth2) {
			continue
		}
		src, err := tokens.New(tokens.Config{
			Server:       s.Alias,
			TokenURL:     s.OAuth2.TokenURL,
			ClientID:     s.OAuth2.ClientID,
			ClientSecret: s.OAuth2.ClientSecret,
			Scopes:       s.OAuth2.Scopes,
			AuthMethod:   tokens.AuthMethod(s.OAuth2.TokenEndpointAuthMethod),
		}, tokens.Options{})
		if err != nil {
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
