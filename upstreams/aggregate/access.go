package aggregate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Authorizer is what the sidecar asks about access: policy.Engine, the
// same engine (built from the same config) the router asks at call time,
// so a list shows exactly what its caller may call.
type Authorizer interface {
	Authenticate(header func(name string) string) (*identity.Principal, error)
	Decide(req policy.Request) policy.Decision
	Visible(req policy.Request) bool
	LogList(req policy.Request, shown, hidden int, elapsed time.Duration)
	// ListKey says when a filtered list may be reused (toolLists).
	ListKey(req policy.Request) (string, bool)
}

var _ Authorizer = (*policy.Engine)(nil)

// caller is who sent one request, and how to ask the policy about it.
type caller struct {
	p      *identity.Principal
	header func(string) string
	path   string
}

// callerOf authenticates a request from the headers go-sdk hands over
// (Envoy forwards the gateway key header to the sidecar; the router has
// already refused requests without a valid key). Without an authorizer,
// or outside HTTP (in-process tests), the caller is anonymous.
func (s *Server) callerOf(req mcp.Request) (*caller, error) {
	var h http.Header
	if extra := req.GetExtra(); extra != nil {
		h = extra.Header
	}
	return s.callerFrom(h)
}

// callerFrom authenticates a request from its headers (nil: not over
// HTTP, anonymous).
func (s *Server) callerFrom(h http.Header) (*caller, error) {
	c := &caller{p: identity.Anonymous(), header: func(string) string { return "" }}
	if h != nil {
		c.header = h.Get
		c.path = h.Get(pathHeader)
	}
	if s.authz == nil {
		return c, nil
	}
	p, err := s.authz.Authenticate(c.header)
	if err != nil {
		var ae *identity.AuthError
		msg := "Authentication failed"
		if errors.As(err, &ae) {
			msg = ae.Error()
		}
		return nil, &jsonrpc.Error{Code: rpc.CodeUnauthorized, Message: msg}
	}
	c.p = p
	return c, nil
}

// ownerOf names the credential r authenticated with, which its client
// session is bound to ("" without an authorizer).
func (s *Server) ownerOf(r *http.Request) (string, error) {
	if s.authz == nil {
		return "", nil
	}
	p, err := s.authz.Authenticate(r.Header.Get)
	if err != nil {
		return "", err
	}
	return p.Owner, nil
}

func (c *caller) request(method string, sc namespace.Scope, server string, kind policy.Kind, name string) policy.Request {
	return policy.Request{Principal: c.p, Method: method, Server: server, Kind: kind, Name: name,
		Scope: sc, Path: c.path, Header: c.header}
}

// narrow keeps the servers of sc the caller may use at all. Every list
// the sidecar answers is built from the narrowed scope.
func (s *Server) narrow(req mcp.Request, sc namespace.Scope) (namespace.Scope, error) {
	if s.authz == nil {
		return sc, nil
	}
	c, err := s.callerOf(req)
	if err != nil {
		return sc, err
	}
	return s.narrowFor(c, sc), nil
}

// narrowFor is narrow for a caller already authenticated.
func (s *Server) narrowFor(c *caller, sc namespace.Scope) namespace.Scope {
	if s.authz == nil {
		return sc
	}
	kept := make([]string, 0, len(sc.Servers))
	for _, alias := range sc.Servers {
		if s.authz.Visible(c.request("", sc, alias, policy.KindNone, "")) {
			kept = append(kept, alias)
		}
	}
	sc.Servers = kept
	if sc.Single != "" && len(kept) == 0 {
		sc.Single = ""
	}
	return sc
}

// ToolsFor returns every tool a tools/list on the aggregated endpoint
// (/mcp, prefixed names, all pages) shows a request with headers h: the
// catalog, narrowed to the servers the caller may use and filtered by the
// policy's tools/call question, as visibleTools does. Client scoping
// headers are not read: the admin API's GET /v1/mcp/tools lists the
// key's whole toolset, as LiteLLM's does. A key the policy refuses is a
// *jsonrpc.Error with rpc.CodeUnauthorized.
func (s *Server) ToolsFor(h http.Header) ([]*mcp.Tool, error) {
	start := time.Now()
	h = h.Clone()
	if h == nil {
		h = http.Header{}
	}
	// What withPath sets for a request to /mcp; a client's own copy of
	// the header never counts.
	h.Set(pathHeader, namespace.Endpoint)
	c, err := s.callerFrom(h)
	if err != nil {
		return nil, err
	}
	return s.toolsForCaller(c, start)
}

// TokenAuthenticator finds a principal by its key's SHA-256 (hex):
// policy.Engine.
type TokenAuthenticator interface {
	AuthenticateToken(token string) (*identity.Principal, error)
}

var _ TokenAuthenticator = (*policy.Engine)(nil)

// ToolsForToken is ToolsFor for a request carrying the key whose SHA-256
// (hex) is token, with no other header: the same decision, for the admin
// UI's effective-access page, which knows a stored key only by its
// token. A key the policy refuses (blocked, expired, unknown) is a
// *jsonrpc.Error with rpc.CodeUnauthorized and the reason.
func (s *Server) ToolsForToken(token string) ([]*mcp.Tool, error) {
	start := time.Now()
	c := &caller{p: identity.Anonymous(), header: func(string) string { return "" }, path: namespace.Endpoint}
	if s.authz != nil {
		ta, ok := s.authz.(TokenAuthenticator)
		if !ok {
			return nil, errors.New("the authorizer cannot look keys up by token")
		}
		p, err := ta.AuthenticateToken(token)
		if err != nil {
			msg := "Authentication failed"
			var ae *identity.AuthError
			if errors.As(err, &ae) {
				msg = ae.Error()
			}
			return nil, &jsonrpc.Error{Code: rpc.CodeUnauthorized, Message: msg}
		}
		c.p = p
	}
	return s.toolsForCaller(c, start)
}

// toolsForCaller is the tools/list of /mcp for an authenticated caller.
func (s *Server) toolsForCaller(c *caller, start time.Time) ([]*mcp.Tool, error) {
	sc, err := s.reg().Resolve(namespace.Endpoint, nil)
	if err != nil {
		return nil, err
	}
	sc = s.narrowFor(c, sc)
	return s.visibleToolsFor(c, sc, start), nil
}

// visibleTools keeps the tools of sc the caller may call: the policy's
// tools/call question without arguments. It logs one line for the list.
func (s *Server) visibleTools(req mcp.Request, sc namespace.Scope) ([]*mcp.Tool, error) {
	start := time.Now()
	c, err := s.callerOf(req)
	if err != nil {
		return nil, err
	}
	return s.visibleToolsFor(c, sc, start), nil
}

// visibleToolsFor is visibleTools for a caller already authenticated
// (start: when its list request began, for the log). A list filtered for
// the same policy version, caller, scope, servers and catalog before is
// reused (toolLists): the pages of one list ask the policy once.
func (s *Server) visibleToolsFor(c *caller, sc namespace.Scope, start time.Time) []*mcp.Tool {
	return s.visibleList(c, sc, start).tools
}

// visibleList is visibleToolsFor's list, with the pages encoded from it
// (toolspage.go).
func (s *Server) visibleList(c *caller, sc namespace.Scope, start time.Time) *toolList {
	if s.authz == nil {
		return &toolList{tools: s.filterTools(sc, s.cat.tools(sc), func(alias, name string) bool {
			up := s.set.Load().ups[alias]
			return up == nil || up.ToolAllowed(name)
		})}
	}
	listReq := c.request("tools/list", sc, "", policy.KindTool, "")
	set := s.set.Load()
	key, reusable := s.authz.ListKey(listReq)
	if reusable {
		key = scopeKey(key, sc)
		if l, ok := s.shown.get(key, set, s.cat.currentVersion()); ok {
			s.authz.LogList(listReq, len(l.tools), l.hidden, time.Since(start))
			return l
		}
	}
	tools, version := s.cat.toolsAt(sc)
	out := s.filterTools(sc, tools, func(alias, name string) bool {
		return s.authz.Visible(c.request("tools/list", sc, alias, policy.KindTool, name))
	})
	l := &toolList{set: set, catalog: version, tools: out, hidden: len(tools) - len(out)}
	if reusable {
		s.shown.put(key, l)
	}
	s.authz.LogList(listReq, len(out), len(tools)-len(out), time.Since(start))
	return l
}

// filterTools keeps the tools (as listed in sc) for which keep(alias,
// upstream name) holds.
func (s *Server) filterTools(sc namespace.Scope, tools []*mcp.Tool, keep func(alias, name string) bool) []*mcp.Tool {
	out := make([]*mcp.Tool, 0, len(tools))
	for _, t := range tools {
		alias, name := sc.Single, t.Name
		if sc.Single == "" {
			var ok bool
			if alias, name, ok = s.reg().Split(t.Name); !ok {
				continue
			}
		}
		if keep(alias, name) {
			out = append(out, t)
		}
	}
	return out
}

// authorizeCall asks about a tools/call the sidecar serves itself (its
// upstream has no endpoint Envoy reaches), as the router does for the
// rest; prefixed is the name the go-sdk server holds the tool under.
func (s *Server) authorizeCall(req mcp.Request, sc namespace.Scope, prefixed string, args json.RawMessage) error {
	alias, name, ok := s.reg().Split(prefixed)
	if !ok {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown tool: " + prefixed}
	}
	return s.authorizeNamed(req, sc, "tools/call", policy.KindTool, alias, name, prefixed, args)
}

// authorizeNamed asks the policy about what a request the sidecar serves
// itself names (alias and the upstream's own name, as resolved; shown as
// the client sent it), with the answers the router gives: an unknown name
// for what is hidden from an unrestricted caller, a 403 that says no more
// than "not available" for a restricted one, else the policy's message.
func (s *Server) authorizeNamed(req mcp.Request, sc namespace.Scope, method string, kind policy.Kind, alias, name, shown string, args json.RawMessage) error {
	unknown := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("Unknown %s: %s", kind, shown)}
	if s.authz == nil {
		if up := s.set.Load().ups[alias]; kind == policy.KindTool && up != nil && !up.ToolAllowed(name) {
			return unknown
		}
		return nil
	}
	c, err := s.callerOf(req)
	if err != nil {
		return err
	}
	r := c.request(method, sc, alias, kind, name)
	r.Arguments = args
	d := s.authz.Decide(r)
	switch {
	case d.Allow:
		return nil
	case d.Hidden && (c.p.Anonymous || c.p.Admin):
		return unknown
	case d.Hidden:
		return &jsonrpc.Error{Code: rpc.CodeForbidden, Message: fmt.Sprintf("Access denied: %s %s is not available to this key", kind, shown)}
	}
	return &jsonrpc.Error{Code: rpc.CodeForbidden, Message: d.Message}
}
