// Package fastpath is Envoy's fast path decision (docs/architecture.md,
// "The fast path"): what the gateway's dynamic module (envoy/module) runs
// inside Envoy to decide a tools/call from grants the gateway computed
// with its policy, and what the gateway hands it to decide with.
//
// It only ever allows: whatever it does not recognise is left alone, and
// the request goes on to ext_proc, which decides it as it decides every
// other request. It reads the body with the full path's own parser
// (extproc/rpc), keys as identity reads them and session ids as
// clientsession opens them, so where it decides, it decides as the full
// path would (TestFastPathDiff).
//
// The package is plain Go, without cgo: envoy renders its configuration,
// envoy/module runs it in Envoy, and both are tested here without Envoy.
package fastpath

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mcpgw/mcpgw/extproc/relay"
)

// ProtocolVersion is the first MCP protocol version without sessions: a
// call at it needs no upstream session (a grant without Versions names
// only it).
const ProtocolVersion = "2026-07-28"

// Modes of a candidate route (RouteConfig.Mode).
const (
	// ModeServer: a server's own endpoint, names are the upstream's.
	ModeServer = "server"
	// ModeAggregate: the aggregated endpoint (/mcp), names are
	// "<alias><separator><tool>".
	ModeAggregate = "aggregate"
	// ModeList: the list candidate route; only list requests are
	// recognised, for the sidecar's direct route.
	ModeList = "list"
)

// FilterConfig is the module's configuration for a listener: the same for
// every request.
type FilterConfig struct {
	// PassThrough are the client request headers that reach an upstream
	// unchanged besides mcp-param-* (credentials.PassThrough).
	PassThrough []string `json:"pass_through"`
	// DecisionLog are the addresses (host:port, tried in order) of the
	// gateway's access log service, which the module sends the calls it
	// decided for the decision log (envoy/decisionlog); none sends
	// nothing.
	DecisionLog []string `json:"decision_log,omitempty"`
}

// RouteConfig is what the module decides with on one candidate route
// (Envoy hands it over once per route table, not per request).
type RouteConfig struct {
	Mode string `json:"mode"`
	// Server, Path and Prefix (ModeServer): the server's alias, its
	// upstream path (with its query) and "<alias><separator>", the prefix
	// of a name the full path strips.
	Server string `json:"server,omitempty"`
	Path   string `json:"path,omitempty"`
	Prefix string `json:"prefix,omitempty"`
	// Grants (ModeServer) are the keys' grants on the server, by the
	// lower-case hex SHA-256 of each key.
	Grants map[string]Grant `json:"grants,omitempty"`
	// Separator, Aliases and Servers (ModeAggregate): the tool-prefix
	// separator, every server's alias (a name splits on the longest, as
	// namespace.Registry.Split) and the servers Envoy decides for.
	Separator string                     `json:"separator,omitempty"`
	Aliases   []string                   `json:"aliases,omitempty"`
	Servers   map[string]AggregateServer `json:"servers,omitempty"`
	// KeyHeader is the lower-case header the gateway key comes in.
	KeyHeader string `json:"key_header,omitempty"`
	// ValidUntil (seconds since the epoch): after it the grants are stale
	// and nothing is decided (the gateway refreshes them while it runs).
	ValidUntil int64 `json:"valid_until,omitempty"`
	// Lists: list requests go to the sidecar directly (an older client's
	// list comes to a call's candidate route too).
	Lists bool `json:"lists,omitempty"`
	// SessionKeys (hex) open client session ids
	// (clientsession.Sealer.MACKeys); SessionTTL is an id's lifetime in
	// seconds. None: a call with a session id is the full path's.
	SessionKeys []string `json:"session_keys,omitempty"`
	SessionTTL  int64    `json:"session_ttl,omitempty"`
	// RelayKey (hex, ModeAggregate) signs the ids of requests an
	// upstream sends a client during a call (relay.IDs, the key that
	// signs first): with it, the fast path takes the calls of 2025-era
	// clients that declared capabilities and relays their answers' event
	// streams as the full path does. None: such calls are the full
	// path's.
	RelayKey string `json:"relay_key,omitempty"`
}

// AggregateServer is one server Envoy decides for on /mcp.
type AggregateServer struct {
	Path   string           `json:"path"`
	Grants map[string]Grant `json:"grants"`
}

// Grant is a key's grant on a server (policy.ToolGrant).
type Grant struct {
	// Key, Team and Org are the key's id, team and organization, for the
	// access and decision logs.
	Key  string `json:"key,omitempty"`
	Team string `json:"team,omitempty"`
	Org  string `json:"org,omitempty"`
	// Any: every tool but Deny; else only Tools.
	Any   bool     `json:"any,omitempty"`
	Tools []string `json:"tools,omitempty"`
	Deny  []string `json:"deny,omitempty"`
	// Params are the argument names a tool may be called with, for tools
	// that have such a rule (allowed_params).
	Params map[string][]string `json:"params,omitempty"`
	// Versions are the protocol versions the key's calls to the server go
	// at without an upstream session (none: ProtocolVersion only).
	Versions []string `json:"versions,omitempty"`
}

// Route is a RouteConfig ready to decide with.
type Route struct {
	mode        string
	server      *server // ModeServer
	prefix      string
	separator   string
	aliases     map[string]bool
	servers     map[string]*server // ModeAggregate, by alias
	anyGrant    map[string]bool    // ModeAggregate: digests with a grant somewhere
	keyHeader   string
	validUntil  time.Time
	lists       bool
	sessionKeys [][]byte
	sessionTTL  time.Duration
	relayIDs    *relay.IDs // ModeAggregate, nil: no relaying
}

type server struct {
	alias  string
	path   string
	grants map[string]*grant
}

type grant struct {
	key, team, org string
	any            bool
	tools, deny    map[string]bool
	params         map[string]map[string]bool
	versions       map[string]bool
}

// ParseRoute reads a RouteConfig (JSON) into a Route.
func ParseRoute(data []byte) (*Route, error) {
	var c RouteConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("fast path route config: %w", err)
	}
	return c.Compile()
}

// Compile makes the Route of c.
func (c RouteConfig) Compile() (*Route, error) {
	r := &Route{
		mode:       c.Mode,
		prefix:     c.Prefix,
		separator:  c.Separator,
		keyHeader:  c.KeyHeader,
		validUntil: time.Unix(c.ValidUntil, 0),
		lists:      c.Lists,
		sessionTTL: time.Duration(c.SessionTTL) * time.Second,
	}
	for _, k := range c.SessionKeys {
		b, err := hex.DecodeString(k)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("fast path route config: session_keys: not hex")
		}
		r.sessionKeys = append(r.sessionKeys, b)
	}
	if c.RelayKey != "" {
		b, err := hex.DecodeString(c.RelayKey)
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("fast path route config: relay_key: not hex")
		}
		r.relayIDs = relay.NewIDs([][]byte{b})
	}
	switch c.Mode {
	case ModeList:
	case ModeServer:
		if c.Server == "" || c.Path == "" || c.KeyHeader == "" {
			return nil, fmt.Errorf("fast path route config: mode %q needs server, path and key_header", c.Mode)
		}
		r.server = compileServer(c.Server, c.Path, c.Grants)
	case ModeAggregate:
		if c.Separator == "" || c.KeyHeader == "" {
			return nil, fmt.Errorf("fast path route config: mode %q needs separator and key_header", c.Mode)
		}
		r.aliases = make(map[string]bool, len(c.Aliases))
		for _, a := range c.Aliases {
			r.aliases[a] = true
		}
		r.servers = make(map[string]*server, len(c.Servers))
		r.anyGrant = map[string]bool{}
		for alias, s := range c.Servers {
			r.servers[alias] = compileServer(alias, s.Path, s.Grants)
			for d := range s.Grants {
				r.anyGrant[d] = true
			}
		}
	default:
		return nil, fmt.Errorf("fast path route config: unknown mode %q", c.Mode)
	}
	return r, nil
}

func compileServer(alias, path string, grants map[string]Grant) *server {
	s := &server{alias: alias, path: path, grants: make(map[string]*grant, len(grants))}
	for d, g := range grants {
		cg := &grant{key: g.Key, team: g.Team, org: g.Org, any: g.Any, tools: setOf(g.Tools), deny: setOf(g.Deny),
			params: make(map[string]map[string]bool, len(g.Params)), versions: setOf(g.Versions)}
		for tool, names := range g.Params {
			cg.params[tool] = setOf(names)
		}
		if len(g.Versions) == 0 {
			cg.versions = map[string]bool{ProtocolVersion: true}
		}
		s.grants[d] = cg
	}
	return s
}

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
