package extproc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
	"github.com/mcpgw/mcpgw/upstreams/credentials/tokens"
)

// TokenWait bounds how long a routed call waits for its upstream's OAuth2
// token. The call's set-up (this wait, then opening its upstream session,
// bounded by the session pool's ConnectTimeout) happens while Envoy waits
// for one ext_proc message: together they must stay under Envoy's message
// timeout, or Envoy answers a bare 504 before the gateway can answer 502
// naming the server (gateway.SessionOpenTimeout).
const TokenWait = 4 * time.Second

// attachToken adds the upstream's OAuth2 token to a routed call that
// needs one (the I/O part of the credentials the router decided), or
// returns the reply when there is none: 502 naming the server, never a
// secret.
func (s *Server) attachToken(ctx context.Context, requestID string, d *router.Decision) *router.Reply {
	c := d.Call
	if !c.Credentials.Token {
		return nil
	}
	src := c.Upstream.Credentials.Token
	tok, err := "", credentials.ErrNoTokenSource
	if src != nil {
		wctx, cancel := context.WithTimeout(ctx, TokenWait)
		tok, err = src.Token(wctx)
		cancel()
	}
	if err != nil {
		s.log.Warn("no OAuth2 token for upstream", "request_id", requestID, "upstream", c.Upstream.Alias, "error", err)
		return tokenUnavailable(c, err)
	}
	// Set, not remove-then-set (see attachSession).
	name := c.Credentials.TokenHeader
	d.RemoveHeaders = without(d.RemoveHeaders, name)
	d.SetHeaders = append(d.SetHeaders, router.Header{Name: name, Value: "Bearer " + tok})
	return nil
}

// tokenUnavailable is the reply to a call whose upstream token cannot be
// had. The message repeats only errors known to carry no secret.
func tokenUnavailable(c *router.Call, err error) *router.Reply {
	reason := "cannot get an OAuth2 token"
	var te *tokens.Error
	switch {
	case errors.As(err, &te):
		reason = te.Reason + " (OAuth2 token)"
	case errors.Is(err, credentials.ErrNoTokenSource):
		reason = fmt.Sprintf("the gateway has no OAuth2 token for it (it fetches tokens only for oauth2_flow client_credentials); send one in x-mcp-%s-authorization", c.Upstream.Alias)
	}
	return router.ErrorReply(&rpc.Error{Status: http.StatusBadGateway, Code: rpc.CodeInternalError,
		Message: fmt.Sprintf("upstream MCP server %q is unavailable: %s", c.Upstream.Alias, reason)}, c.RequestID)
}

// sessionContext is the context an upstream session for call c is opened
// in: its requests carry the call's credentials.
func sessionContext(ctx context.Context, c *router.Call) context.Context {
	return upstreams.WithCallCredentials(ctx, c.Credentials)
}

// noteAuthFailure drops the OAuth2 token a call carried when its upstream
// answered 401, so the next call fetches a fresh one.
func noteAuthFailure(c *router.Call, status string) {
	if c == nil || !c.Credentials.Token {
		return
	}
	if code, _ := strconv.Atoi(status); code != http.StatusUnauthorized {
		return
	}
	if src := c.Upstream.Credentials.Token; src != nil {
		src.Invalidate()
	}
}
