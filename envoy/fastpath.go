package envoy

import (
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	dmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/dynamic_modules/v3"
	dynmodv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_modules/v3"
	luav3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/envoy/fastpath"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// The fast path (docs/architecture.md, "The fast path"): Envoy decides a
// 2026-07-28 tools/call on a server's own endpoint, or on /mcp with a
// prefixed name, itself, from grants the gateway computed with its
// policy, and sends it straight to the upstream with ext_proc off.
// Everything it does not recognise goes on to ext_proc untouched. Two
// routes per server carry it, and one more candidate route for /mcp
// (AggregateEndpoint) with every server's grants:
//
//   - the candidate route (fastPathCandidateRoute) matches what the fast
//     path may take by its headers alone and turns on, for it only, the
//     fast path's Lua filter (fastpath.lua, which reads the body and
//     decides). Its action is the catch-all's, so a call the Lua filter
//     leaves alone goes through ext_proc exactly as it would without the
//     fast path. (Envoy's own MCP filter is not used: its parser is more
//     lenient than the gateway's, it passed an invalid escape, and its
//     metadata leaves out arguments whose values are arrays or null.)
//   - the fast route (fastPathRoute) is the server's upstream route,
//     matched on the decision the Lua filter wrote in dynamic metadata
//     (which also set the upstream's path, as ext_proc does), with
//     ext_proc off.

//go:embed fastpath.lua
var fastPathLua string

// fastPathFilterName names the fast path's Lua filter, in every listener
// built with a FastPath, turned off but on the fast path's routes.
const (
	fastPathFilterName = "mcpgw.fast_path"
	// fastPathScript names fastpath.lua among the Lua filter's sources.
	fastPathScript = "fast_path"
)

// FastPathDecidedBy is the value of the dynamic metadata key
// wellknown.MetadataNamespace:decided_by on calls Envoy decided itself
// (the access log's decided_by field); ext_proc sets none.
const FastPathDecidedBy = wellknown.FastPathDecidedBy

// FastPathProtocolVersion is the only MCP protocol version the fast path
// takes: the first without sessions, so a call needs no upstream session.
const FastPathProtocolVersion = fastpath.ProtocolVersion

// FastPath is what Envoy's fast path decides with. Params.FastPath set
// puts its filters into the listener; its Servers change with the route
// table (over xDS, without touching the listener).
type FastPath struct {
	// KeyHeader is the lower-case header the gateway key comes in
	// (identity.KeySource.Header).
	KeyHeader string
	// Separator is the tool-prefix separator (a name on a server's own
	// endpoint written with "<alias><separator>" is the full path's).
	Separator string
	// Servers are the servers Envoy may decide calls to, each with the
	// grants of the keys it knows. A server must have an upstream route
	// (Params.Upstreams) and no credentials of its own.
	Servers []FastPathServer
	// ListToken, when set, turns on direct lists (directlist.go): Envoy
	// sends list requests straight to the sidecar with this token in
	// DirectListHeader, and the sidecar decides them itself.
	ListToken string
	// SessionKeys open the session ids of 2025-era clients
	// (clientsession.Sealer.MACKeys): Envoy checks a call's id itself, as
	// the full path does. None: calls with a session id take the full
	// path. SessionTTL is how long an id is valid after it was issued.
	SessionKeys [][]byte
	SessionTTL  time.Duration
	// RelayKey signs the ids of the requests an upstream sends a client
	// during a call (clientsession.Sealer.RelayKeys, the first): with it,
	// the module (not Lua) takes /mcp calls of 2025-era clients that
	// declared capabilities and relays their answers as the full path
	// does. None: such calls take the full path.
	RelayKey []byte
	// Module is the gateway's Envoy dynamic module (envoy/module, a shared
	// library): Envoy runs the fast path's decision there, in Go. Empty:
	// it runs fastpath.lua in Envoy's Lua filter instead (the same
	// decision, at several times the cost; docs/architecture.md).
	Module string
	// ValidUntil is when Envoy stops using these grants unless it has
	// newer ones: a gateway that stopped (and so can no longer tell Envoy
	// of a deleted key) leaves its Envoy deciding nothing after it. The
	// zero time: grants are not used at all.
	ValidUntil time.Time
}

// FastPathServer is one server's grants, by the lower-case hex SHA-256 of
// each key.
type FastPathServer struct {
	Alias  string
	Grants map[string]FastPathGrant
}

// FastPathGrant is a key's grant on a server (policy.ToolGrant).
type FastPathGrant struct {
	// KeyAlias, Team and Org are the key's id, team and organization,
	// for the access and decision logs.
	KeyAlias, Team, Org string
	AnyTool             bool
	Tools               []string
	Deny                []string
	Params              map[string][]string
	// Versions are the MCP protocol versions at which the key's calls to
	// the server go without an upstream session, as the gateway saw them
	// go (nil: FastPathProtocolVersion only).
	Versions []string
}

// fastPathFilters is the fast path's filter (the module's, or Lua's),
// off but on candidate routes, to go ahead of ext_proc. The module sends
// the calls it decides to the access log service beside ext_proc
// (extProcAddress, as Params.ExtProcAddress) itself; with Lua, Envoy's
// access logger does (fastPathAccessLog).
func fastPathFilters(fp *FastPath, extProcAddress string) ([]*hcmv3.HttpFilter, error) {
	var config *anypb.Any
	var err error
	if fp.Module != "" {
		addrs, aerr := splitAddressList(extProcAddress)
		if aerr != nil {
			return nil, fieldErr("ExtProcAddress", aerr)
		}
		var decisionLog []string
		for _, a := range addrs {
			decisionLog = append(decisionLog, net.JoinHostPort(a.host, strconv.Itoa(a.port)))
		}
		fc, jerr := json.Marshal(fastpath.FilterConfig{PassThrough: credentials.PassThrough(), DecisionLog: decisionLog})
		if jerr != nil {
			return nil, jerr
		}
		config, err = typed("fast path module filter", &dynmodv3.DynamicModuleFilter{
			DynamicModuleConfig: moduleConfig(fp),
			FilterName:          fastPathModuleFilter,
			FilterConfig:        mustAny(wrapperspb.String(string(fc))),
		})
	} else {
		config, err = typed("fast path lua filter", &luav3.Lua{
			SourceCodes: map[string]*corev3.DataSource{fastPathScript: {Specifier: &corev3.DataSource_InlineString{InlineString: fastPathSource()}}},
		})
	}
	if err != nil {
		return nil, err
	}
	return []*hcmv3.HttpFilter{{Name: fastPathFilterName, Disabled: true, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: config}}}, nil
}

// fastPathModuleFilter is the module's name for its fast path filter (its
// only one).
const fastPathModuleFilter = "fast_path"

// moduleConfig loads the module from its file. Envoy never unloads it: a
// Go runtime cannot be.
func moduleConfig(fp *FastPath) *dmv3.DynamicModuleConfig {
	return &dmv3.DynamicModuleConfig{
		Module: &corev3.AsyncDataSource{Specifier: &corev3.AsyncDataSource_Local{
			Local: &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: fp.Module}},
		}},
		DoNotClose: true,
	}
}

// fastPathOn turns the fast path's filter on for route r with what it
// decides with there: the module's per-route configuration, or
// fastpath.lua's route metadata.
func fastPathOn(fp *FastPath, r *routev3.Route, rc fastpath.RouteConfig) error {
	if r.TypedPerFilterConfig == nil {
		r.TypedPerFilterConfig = map[string]*anypb.Any{}
	}
	if fp.Module != "" {
		b, err := json.Marshal(rc)
		if err != nil {
			return fmt.Errorf("envoy: fast path route %s: %w", r.Name, err)
		}
		r.TypedPerFilterConfig[fastPathFilterName] = mustAny(&dynmodv3.DynamicModuleFilterPerRoute{
			DynamicModuleConfig: moduleConfig(fp),
			FilterName:          fastPathModuleFilter,
			FilterConfig:        mustAny(wrapperspb.String(string(b))),
		})
		return nil
	}
	meta, err := luaMetadata(rc)
	if err != nil {
		return fmt.Errorf("envoy: fast path route %s: %w", r.Name, err)
	}
	r.Metadata = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{fastPathFilterName: meta}}
	r.TypedPerFilterConfig[fastPathFilterName] = luaOn()
	return nil
}

// answerOn keeps the fast path's filter on for the answers of route r,
// which Envoy chose after the filter's decision. The module's filter
// stays on for the stream whatever its route; the Lua filter runs its
// response side only where the route that ends up chosen names its
// script.
func answerOn(fp *FastPath, r *routev3.Route) {
	if fp.Module == "" {
		r.TypedPerFilterConfig[fastPathFilterName] = luaOn()
	}
}

// fastPathSource is fastpath.lua with the headers that reach an upstream
// defined ahead of it (the same for every request: read once, when Envoy
// loads the script, not from route metadata per request). Header names
// are tokens, so %q quotes them for Lua as for Go.
func fastPathSource() string {
	var b strings.Builder
	b.WriteString("local passThrough = {")
	for _, h := range credentials.PassThrough() {
		fmt.Fprintf(&b, "[%q] = true, ", h)
	}
	b.WriteString("}\n")
	return b.String() + fastPathLua
}

// fastPathRoutes are the fast and candidate routes of every FastPath
// server that has an upstream route, fast routes first (they match on
// what the candidate routes' Lua filter decided).
func fastPathRoutes(p Params) ([]*routev3.Route, error) {
	if p.FastPath == nil {
		return nil, nil
	}
	byAlias := make(map[string]*upstreams.Upstream, len(p.Upstreams))
	for _, u := range p.Upstreams {
		if !skipCluster(u) {
			byAlias[u.Alias] = u
		}
	}
	var fast, candidates []*routev3.Route
	agg := fastpath.RouteConfig{Mode: fastpath.ModeAggregate, Separator: p.FastPath.Separator, Servers: map[string]fastpath.AggregateServer{}}
	for _, s := range p.FastPath.Servers {
		u := byAlias[s.Alias]
		if u == nil || len(s.Grants) == 0 {
			continue
		}
		grants := grantConfigs(s.Grants)
		rc := fastpath.RouteConfig{Mode: fastpath.ModeServer, Server: s.Alias, Path: u.Path(), Prefix: s.Alias + p.FastPath.Separator, Grants: grants}
		c, err := fastPathCandidateRoute(p, fastPathEndpoint(u.Alias), "fast_path_candidate:"+u.Alias, rc)
		if err != nil {
			return nil, err
		}
		fast = append(fast, fastPathRoute(u, p))
		candidates = append(candidates, c)
		agg.Servers[s.Alias] = fastpath.AggregateServer{Path: u.Path(), Grants: grants}
	}
	if len(agg.Servers) > 0 {
		// The aggregated endpoint: a prefixed name, any of those
		// servers; every server's alias, to split names exactly as
		// namespace.Registry.Split does.
		for _, u := range p.Upstreams {
			agg.Aliases = append(agg.Aliases, u.Alias)
		}
		c, err := fastPathCandidateRoute(p, AggregateEndpoint, "fast_path_candidate:"+AggregateEndpoint, agg)
		if err != nil {
			return nil, err
		}
		candidates = append(candidates, c)
	}
	return append(fast, candidates...), nil
}

// AggregateEndpoint is the path of the aggregated endpoint, the one
// path outside a server's own endpoint the fast path takes: /mcp/<names>
// and the x-mcp-servers headers narrow the scope, which only the full
// path reads.
const AggregateEndpoint = "/mcp"

// fastPathEndpoint is a server's own MCP endpoint (namespace: names there
// are the upstream's own).
func fastPathEndpoint(alias string) string { return "/" + alias + "/mcp" }

func fastPathRoute(u *upstreams.Upstream, p Params) *routev3.Route {
	r := upstreamRoute(u, p)
	r.Name = "fast_path:" + u.Alias
	// The Lua filter has set the upstream's path itself, as ext_proc does
	// on the full path: a route rewrite would add x-envoy-original-path,
	// which the full path never sends upstream. So the route matches on
	// the decision alone (decided_by, and the server decided for).
	decided := func(key, value string) *matcherv3.MetadataMatcher {
		return &matcherv3.MetadataMatcher{
			Filter: wellknown.MetadataNamespace,
			Path:   []*matcherv3.MetadataMatcher_PathSegment{{Segment: &matcherv3.MetadataMatcher_PathSegment_Key{Key: key}}},
			Value:  &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_StringMatch{StringMatch: exact(value)}},
		}
	}
	r.Match = &routev3.RouteMatch{
		PathSpecifier:   &routev3.RouteMatch_Prefix{Prefix: "/"},
		DynamicMetadata: []*matcherv3.MetadataMatcher{decided("decided_by", FastPathDecidedBy), decided("server", u.Alias)},
	}
	// The fast path's filter stays on for the answer.
	r.TypedPerFilterConfig = map[string]*anypb.Any{wellknown.ExtProcFilterName: noExtProc()}
	answerOn(p.FastPath, r)
	// The client's session id is the gateway's to give (none, for a
	// client that keeps no session); an upstream's never reaches it.
	r.ResponseHeadersToRemove = []string{"mcp-session-id"}
	r.StatPrefix = "fast_path_" + u.Alias
	return r
}

// fastPathCandidateRoute, named name, matches a call the fast path may
// take, by its headers: POST on path (a server's own endpoint, or
// AggregateEndpoint), a protocol version, Mcp-Method tools/call or none,
// no x-mcp-cluster (ext_proc sets one on every request it routes, so a
// request it has seen never matches again).
func fastPathCandidateRoute(p Params, path, name string, rc fastpath.RouteConfig) (*routev3.Route, error) {
	header := func(name, value string) *routev3.HeaderMatcher {
		return &routev3.HeaderMatcher{Name: name, HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: exact(value)}}
	}
	regex := func(name, re string, missingIsEmpty bool) *routev3.HeaderMatcher {
		return &routev3.HeaderMatcher{Name: name, TreatMissingHeaderAsEmpty: missingIsEmpty, HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
			StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re}}},
		}}
	}
	absent := func(name string) *routev3.HeaderMatcher {
		return &routev3.HeaderMatcher{Name: name, HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}, InvertMatch: true}
	}
	catchAll := catchAllRoute(p)
	r := &routev3.Route{
		Name: name,
		Match: &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Path{Path: path},
			Headers: []*routev3.HeaderMatcher{
				header(":method", "POST"),
				// A protocol version (the Lua filter takes those the
				// key's grant names), and a tools/call's Mcp-Method or
				// none (clients before 2026-07-28 send none; their lists
				// come here too, for the sidecar's direct route).
				regex("mcp-protocol-version", `\d{4}-\d{2}-\d{2}`, false),
				regex("mcp-method", `(tools/call)?`, true),
				absent(wellknown.RouteHeader),
				// A body that fits the limit, by its Content-Length: a
				// larger one, or one without a length (chunked), is the
				// full path's to refuse with its own 413 (held for the
				// fast path's buffering, one was answered differently:
				// TestFastPathDiff).
				{Name: "content-length", HeaderMatchSpecifier: &routev3.HeaderMatcher_RangeMatch{
					RangeMatch: &typev3.Int64Range{Start: 0, End: int64(p.MaxRequestBodyBytes) + 1},
				}},
			},
		},
		Action:                 catchAll.Action,
		RequestBodyBufferLimit: catchAll.RequestBodyBufferLimit,
		RequestHeadersToRemove: catchAll.RequestHeadersToRemove,
	}
	sharedConfig(p.FastPath, &rc)
	if err := fastPathOn(p.FastPath, r, rc); err != nil {
		return nil, err
	}
	return r, nil
}

// luaOn turns the fast path's Lua filter on for a route.
func luaOn() *anypb.Any {
	return mustAny(&routev3.FilterConfig{Config: mustAny(&luav3.LuaPerRoute{Override: &luav3.LuaPerRoute_Name{Name: fastPathScript}})})
}

// sharedConfig is what every fast-path candidate route carries beside
// its grants: the key header, how long the grants hold, whether lists go
// to the sidecar directly (an older client's list comes to this route,
// ahead of the list candidate route), and the keys and lifetime of
// client session ids.
func sharedConfig(fp *FastPath, rc *fastpath.RouteConfig) {
	rc.KeyHeader = fp.KeyHeader
	rc.ValidUntil = fp.ValidUntil.Unix()
	rc.Lists = fp.ListToken != ""
	if len(fp.SessionKeys) > 0 && fp.SessionTTL > 0 {
		for _, k := range fp.SessionKeys {
			rc.SessionKeys = append(rc.SessionKeys, hex.EncodeToString(k))
		}
		rc.SessionTTL = int64(fp.SessionTTL / time.Second)
	}
	if fp.Module != "" && len(fp.RelayKey) > 0 && rc.Mode == fastpath.ModeAggregate && rc.SessionTTL > 0 {
		// Only the module relays; Lua never gets the key.
		rc.RelayKey = hex.EncodeToString(fp.RelayKey)
	}
}

// grantConfigs are grants as Envoy gets them. A grant naming something
// that is not UTF-8 cannot be sent to Envoy as it is: that key's calls
// take the full path.
func grantConfigs(grants map[string]FastPathGrant) map[string]fastpath.Grant {
	out := make(map[string]fastpath.Grant, len(grants))
	for d, g := range grants {
		if !g.utf8() {
			continue
		}
		out[d] = fastpath.Grant{Key: g.KeyAlias, Team: g.Team, Org: g.Org, Any: g.AnyTool, Tools: g.Tools, Deny: g.Deny, Params: g.Params, Versions: g.Versions}
	}
	return out
}

func (g FastPathGrant) utf8() bool {
	strs := append([]string{g.KeyAlias, g.Team, g.Org}, g.Tools...)
	strs = append(strs, g.Deny...)
	strs = append(strs, g.Versions...)
	for tool, names := range g.Params {
		strs = append(append(strs, tool), names...)
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// luaMetadata is rc as fastpath.lua reads it from its route's metadata.
func luaMetadata(rc fastpath.RouteConfig) (*structpb.Struct, error) {
	if rc.Mode == fastpath.ModeList {
		return structpb.NewStruct(map[string]any{"mode": "list"})
	}
	m := map[string]any{
		"key_header": rc.KeyHeader,
		// Seconds since the epoch, as Lua's os.time() counts.
		"valid_until": float64(rc.ValidUntil),
		"lists":       rc.Lists,
	}
	if len(rc.SessionKeys) > 0 {
		keys := make([]any, len(rc.SessionKeys))
		for i, k := range rc.SessionKeys {
			keys[i] = k
		}
		m["session_keys"] = keys
		m["session_ttl"] = float64(rc.SessionTTL)
	}
	if rc.Mode == fastpath.ModeAggregate {
		m["mode"], m["separator"] = "aggregate", rc.Separator
	} else {
		m["server"], m["path"], m["prefix"] = rc.Server, rc.Path, rc.Prefix
	}
	st, err := structpb.NewStruct(m)
	if err != nil {
		return nil, err
	}
	for _, a := range rc.Aliases {
		st.Fields["a:"+a] = structpb.NewBoolValue(true)
	}
	for alias, s := range rc.Servers {
		st.Fields["p:"+alias] = structpb.NewStringValue(s.Path)
		for d, g := range s.Grants {
			if st.Fields["k:"+d+":"+alias], err = grantValue(g); err != nil {
				return nil, err
			}
			st.Fields["d:"+d] = structpb.NewBoolValue(true)
		}
	}
	for d, g := range rc.Grants {
		if st.Fields["k:"+d], err = grantValue(g); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// grantValue is a grant as fastpath.lua reads it.
func grantValue(g fastpath.Grant) (*structpb.Value, error) {
	params := map[string]any{}
	for tool, names := range g.Params {
		params[tool] = setOf(names)
	}
	versions := g.Versions
	if len(versions) == 0 {
		versions = []string{FastPathProtocolVersion}
	}
	return structpb.NewValue(map[string]any{"key": g.Key, "team": g.Team, "org": g.Org, "any": g.Any, "tools": setOf(g.Tools), "deny": setOf(g.Deny), "params": params,
		"versions": setOf(versions)})
}

func setOf(names []string) map[string]any {
	m := make(map[string]any, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func exact(s string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}
}

// mustAny packs a constant message: cannot fail.
func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}
