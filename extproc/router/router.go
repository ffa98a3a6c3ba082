package router

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/mcprest"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy/identity"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// Router holds what routing needs from the config. It is immutable; a
// config reload builds a new one.
type Router struct {
	names        *namespace.Registry
	upstreams    map[string]*upstreams.Upstream
	maxBody      int
	maxResponse  int
	checkSession func(id, owner string) (capabilities uint8, err error)
	origins      OriginPolicy
	// authz authenticates requests and decides access (see access.go).
	authz Authorizer
	// creds computes the headers each routed call carries upstream.
	creds *credentials.Rewriter
	// relayIDs signs the ids of upstream requests relayed to clients.
	relayIDs *relay.IDs
}

// Option configures a Router.
type Option func(*Router)

// WithRelayKeys sets the keys relayed request ids are signed with (the
// first) and checked with (all): replicas must share them to route each
// other's (sessions.Sealer.RelayKeys). Without it the router makes a key
// of its own.
func WithRelayKeys(keys [][]byte) Option {
	return func(r *Router) {
		if len(keys) > 0 {
			r.relayIDs = relay.NewIDs(keys)
		}
	}
}

// DefaultMaxResponseBody is the largest upstream answer the gateway holds
// whole to rewrite it, unless WithMaxResponseBody says otherwise.
const DefaultMaxResponseBody = 16 << 20

// WithMaxResponseBody sets the largest upstream answer the gateway holds
// whole to rewrite it (gateway.max_response_body_bytes); n <= 0 keeps
// DefaultMaxResponseBody.
func WithMaxResponseBody(n int) Option {
	return func(r *Router) {
		if n > 0 {
			r.maxResponse = n
		}
	}
}

// MaxResponseBody is the largest upstream answer the gateway holds whole
// to rewrite it (ResponseDecision.BufferBody).
func (r *Router) MaxResponseBody() int { return r.maxResponse }

// WithSessionCheck makes the router refuse requests that carry a client
// session id the gateway did not issue to the caller's credential (owner:
// identity.Principal.Owner), or that expired, with 404. check must be
// pure. check returns the client capabilities the id carries (see
// sessions.Sealer.Open), which the call's upstream session declares.
func WithSessionCheck(check func(id, owner string) (capabilities uint8, err error)) Option {
	return func(r *Router) { r.checkSession = check }
}

// New builds a router over the given upstreams. maxBody is the largest
// request body in bytes (Envoy enforces the same limit before us).
func New(names *namespace.Registry, ups []*upstreams.Upstream, maxBody int, opts ...Option) (*Router, error) {
	r := &Router{names: names, upstreams: make(map[string]*upstreams.Upstream, len(ups)), maxBody: maxBody, maxResponse: DefaultMaxResponseBody}
	for _, o := range opts {
		o(r)
	}
	if r.relayIDs == nil {
		// One process alone: a key of its own.
		k := make([]byte, 32)
		rand.Read(k)
		r.relayIDs = relay.NewIDs([][]byte{k})
	}
	if r.creds == nil {
		var err error
		if r.creds, err = credentials.NewRewriter(names.Aliases(), credentials.Settings{}); err != nil {
			return nil, fmt.Errorf("router: %w", err)
		}
	}
	for _, u := range ups {
		if !names.Has(u.Alias) {
			return nil, fmt.Errorf("router: upstream %q is not in the name registry", u.Alias)
		}
		r.upstreams[u.Alias] = u
	}
	return r, nil
}

// DecideHeaders handles the request-headers phase: check the method, the
// protocol version, the caller and its session, resolve the endpoint to
// its scope (unknown paths and servers are answered here) and send the
// request to the sidecar unless the body phase reroutes it.
func (r *Router) DecideHeaders(h Headers) Decision {
	if mcprest.Is(h.Get(headerPath)) {
		return r.decideREST(h)
	}
	if reply := checkMethod(h); reply != nil {
		return Decision{Reply: reply}
	}
	if name := r.creds.RepeatedCredential(h); name != "" {
		// Which of two keys or tokens counts would be a guess (the key
		// check's, the policy's or the upstream's): refuse, naming only
		// the header.
		return Decision{Reply: errorReply(&rpc.Error{Status: http.StatusBadRequest, Code: rpc.CodeInvalidRequest,
			Message: fmt.Sprintf("invalid request: header %q is sent more than once or holds more than one credential; send one", name)}, nil)}
	}
	if reply := r.checkOrigin(h); reply != nil {
		return Decision{Reply: reply}
	}
	if reply := checkProtocolVersion(h); reply != nil {
		return Decision{Reply: reply}
	}
	c, reply := r.callerOf(h, nil)
	if reply != nil {
		return Decision{Reply: reply}
	}
	// The route header is overwritten on every request, so a client's
	// forged copy never survives.
	d := Decision{
		SetHeaders: []Header{{wellknown.RouteHeader, wellknown.SidecarCluster}},
		ClearRoute: true,
		Caller:     c,
	}
	if h.Get(headerMethod) == http.MethodDelete {
		// openSession has checked the id is the caller's own.
		d.EndSession = h.Get(headerSessionID)
	}
	return d
}

// Caller is what the headers phase of a request learned and its body
// phase decides on: who sent it, the scope of its endpoint, and the
// client capabilities its session id carries.
type Caller struct {
	Principal    *identity.Principal
	Scope        namespace.Scope
	Capabilities uint8
}

// callerOf authenticates the request, resolves its scope and opens its
// session id, once per request; the reply ends the request (401, 403, 404,
// 400), carrying msg's id when there is one.
func (r *Router) callerOf(h Headers, msg *rpc.Message) (*Caller, *Reply) {
	scope, serr := r.names.Resolve(h.Get(headerPath), h.Lookup)
	p, reply := r.checkEndpoint(h, scope, serr, msg)
	if reply != nil {
		return nil, reply
	}
	// The session id is opened once: it is checked, and it carries the
	// capabilities the call's upstream session declares.
	caps, reply := r.openSession(h, p, msg)
	if reply != nil {
		return nil, reply
	}
	if serr != nil {
		return nil, scopeErrorReply(serr)
	}
	return &Caller{Principal: p, Scope: scope, Capabilities: caps}, nil
}

// checkMethod answers 405 to every method but the three MCP's Streamable
// HTTP transport has: POST carries JSON-RPC, GET opens the event stream,
// DELETE ends the caller's session. Only POST bodies are ever routed.
func checkMethod(h Headers) *Reply {
	switch h.Get(headerMethod) {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
		return nil
	}
	reply := errorReply(&rpc.Error{Status: http.StatusMethodNotAllowed, Code: rpc.CodeInvalidRequest,
		Message: "Method not allowed: MCP uses POST, GET and DELETE"}, nil)
	reply.Headers = append(reply.Headers, Header{"allow", "GET, POST, DELETE"})
	return reply
}

// checkProtocolVersion answers 400 to an MCP-Protocol-Version the gateway
// does not speak (the spec's answer to an invalid or unsupported one);
// taking it for some version would decide the request on a guess.
func checkProtocolVersion(h Headers) *Reply {
	v := h.Get(headerProtocolVersion)
	if v == "" || rpc.KnownProtocolVersion(v) {
		return nil
	}
	return errorReply(&rpc.Error{Status: http.StatusBadRequest, Code: rpc.CodeInvalidRequest,
		Message: "Unsupported MCP-Protocol-Version header; supported: " + strings.Join(rpc.ProtocolVersions(), ", ")}, nil)
}

// openSession checks the client session id the request carries, if any:
// it must have been issued to p's credential and be live, else 404 (the
// client starts a new session). It returns the capabilities the id
// carries.
func (r *Router) openSession(h Headers, p *identity.Principal, msg *rpc.Message) (uint8, *Reply) {
	id := h.Get(headerSessionID)
	if id == "" || r.checkSession == nil {
		return 0, nil
	}
	caps, err := r.checkSession(id, p.Owner)
	if err != nil {
		return 0, errorReply(&rpc.Error{Status: http.StatusNotFound, Code: rpc.CodeSessionNotFound,
			Message: "Session not found: initialize a new session"}, msg)
	}
	return caps, nil
}

func scopeErrorReply(err error) *Reply {
	status, msg := http.StatusBadRequest, err.Error()
	var se *namespace.ScopeError
	if errors.As(err, &se) && se.NotFound {
		status = http.StatusNotFound
	}
	return errorReply(&rpc.Error{Status: status, Code: rpc.CodeInvalidRequest, Message: msg}, nil)
}

// DecideBody handles the buffered request body of a POST.
//
// c is what the headers phase learned (Decision.Caller): the headers do
// not change between the phases, so the key, the session id and the scope
// are checked once. Nil means the headers phase did not run here (tests,
// tools): the body phase then checks them itself.
func (r *Router) DecideBody(h Headers, c *Caller, body []byte) Decision {
	if r.maxBody > 0 && len(body) > r.maxBody {
		return Decision{Reply: errorReply(&rpc.Error{
			Status: http.StatusRequestEntityTooLarge, Code: rpc.CodeInvalidRequest,
			Message: fmt.Sprintf("request body too large (limit %d bytes)", r.maxBody),
		}, nil)}
	}
	if h.Get(headerMethod) != http.MethodPost || mcprest.Is(h.Get(headerPath)) {
		// Only POST carries JSON-RPC to route; the body of a GET or
		// DELETE means nothing, and the sidecar serves both. The REST
		// facade's bodies are the sidecar's too (decideREST).
		return Decision{}
	}
	msg, batch, perr := rpc.Parse(body)
	if perr != nil {
		return Decision{Reply: errorReply(perr, nil)}
	}
	if batch {
		return Decision{Reply: checkBatch(body)}
	}
	d := r.decideMessage(h, c, msg, body)
	d.Method = msg.Method
	return d
}

// decideMessage is DecideBody for one parsed JSON-RPC message.
func (r *Router) decideMessage(h Headers, c *Caller, msg *rpc.Message, body []byte) Decision {
	if !(msg.Kind == rpc.KindRequest && routed(msg.Method) || passThrough(msg)) {
		// Everything else is the sidecar's (chosen in the headers phase).
		return Decision{}
	}
	if c == nil {
		var reply *Reply
		if c, reply = r.callerOf(h, msg); reply != nil {
			return Decision{Reply: reply}
		}
	}
	scope, p, caps := c.Scope, c.Principal, c.Capabilities
	if scope.LegacySSE {
		// Answers to a legacy HTTP+SSE client travel on its event stream,
		// which the sidecar holds: the sidecar serves all its requests.
		return Decision{}
	}
	if len(scope.Servers) == 0 && msg.Kind == rpc.KindRequest {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams, emptyScopeMessage), msg)}
	}
	if reply := checkMCPHeaders(h, msg); reply != nil {
		return Decision{Reply: reply}
	}
	var d Decision
	switch {
	case msg.Kind == rpc.KindResponse && scope.Single == "":
		d = r.routeAnswer(h, p, scope, msg)
	case passThrough(msg):
		d = r.routeToSingle(h, scope, msg, body)
	case msg.Method == "completion/complete":
		d = r.routeCompletion(h, p, scope, msg)
	default:
		d = r.routeNamed(h, p, scope, msg)
	}
	if d.Call != nil {
		d.Call.Owner = p.Owner
		d.Call.ClientCapabilities = caps
		// Every capability in caps lets the upstream send the client
		// requests; a 2026-07-28 client gets none (its calls are re-sent
		// with the answers instead).
		d.Call.RelayRequests = caps != 0 && msg.Kind == rpc.KindRequest && scope.Single == "" && !IsModern(h.ProtocolVersion())
		d.Call.relayIDs = r.relayIDs
	}
	return d
}

// checkMCPHeaders refuses a routed 2026-07-28 request whose Mcp-Method,
// or for tools/call, prompts/get and resources/read whose Mcp-Name, is
// missing or says other than its body, as an MCP server of that version
// must (and go-sdk does, in the same words). The gateway decides on the
// body and rewrites Mcp-Name for the upstream, so a mismatch would
// otherwise pass unseen: an intermediary that reads the headers (what
// they are for) would see one request and the upstream run another.
func checkMCPHeaders(h Headers, msg *rpc.Message) *Reply {
	if msg.Kind != rpc.KindRequest || !IsModern(h.ProtocolVersion()) {
		return nil
	}
	mismatch := func(format string, args ...any) *Reply {
		return errorReply(&rpc.Error{Status: http.StatusBadRequest, Code: rpc.CodeHeaderMismatch, Message: fmt.Sprintf(format, args...)}, msg)
	}
	method := h.Get(headerMCPMethod)
	if method == "" {
		return mismatch("missing required Mcp-Method header")
	}
	if method != msg.Method {
		return mismatch("header mismatch: Mcp-Method header value '%s' does not match body value '%s'", method, msg.Method)
	}
	param := ""
	switch msg.Method {
	case "tools/call", "prompts/get":
		param = "name"
	case "resources/read":
		param = "uri"
	default:
		return nil
	}
	name := h.Get(headerMCPName)
	if name == "" {
		return mismatch("missing required Mcp-Name header for method %q", msg.Method)
	}
	// A name that is no string is the router's to refuse (routeNamed).
	if inBody, ok := msg.ParamString(param); ok && inBody != name {
		return mismatch("header mismatch: Mcp-Name header value '%s' does not match body value '%s'", name, inBody)
	}
	return nil
}

// checkBatch returns the reply refusing a batch that carries a routed
// request, or nil. Batches are only legal in 2025-03-26, and the sidecar's
// MCP server answers them per its version rules; but a call in a batch
// would run there, not through Envoy on the caller's upstream session
// with the caller's credentials, so each call must come on its own.
func checkBatch(body []byte) *Reply {
	msgs, err := rpc.ParseBatch(body)
	if err != nil {
		return errorReply(err, nil)
	}
	for _, m := range msgs {
		if m.Kind == rpc.KindRequest && routed(m.Method) {
			return errorReply(&rpc.Error{Status: http.StatusBadRequest, Code: rpc.CodeInvalidRequest,
				Message: fmt.Sprintf("invalid request: a JSON-RPC batch may not carry %s; send each call as its own request", m.Method)}, nil)
		}
	}
	return nil
}

// routeNamed routes a call of a named tool or prompt to its upstream.
func (r *Router) routeNamed(h Headers, p *identity.Principal, scope namespace.Scope, msg *rpc.Message) Decision {
	kind, param := namedBy(msg.Method)
	name, ok := msg.ParamString(param)
	if !ok {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams,
			fmt.Sprintf(`invalid params: %s needs a string %q`, msg.Method, param)), msg)}
	}
	alias, tool, ok := r.resolve(scope, param, name)
	// The policy decides (server-level tool filters included): what it
	// hides is, to the client, a name that does not exist, so visible is
	// callable.
	if reply := r.authorizeNamed(h, p, scope, msg, kind, name, alias, tool, ok); reply != nil {
		return Decision{Reply: reply}
	}
	up := r.upstreams[alias]
	if up == nil || !up.Routable() {
		// No endpoint Envoy can reach (an adapter not bound yet): the
		// sidecar serves the call itself.
		return Decision{}
	}
	body, err := msg.WithParamString(tool, param)
	if err != nil {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams, "invalid params"), msg)}
	}
	d := r.forward(h, up, msg, body, tool)
	if msg.Method == "resources/read" && scope.Prefixed {
		d.Call.URIPrefix = r.names.EncodeURI(alias, "")
	}
	return d
}

// forward sends msg, as body, to upstream up through Envoy, with the
// upstream's session attached by the caller; tool is the upstream's own
// name of what msg names ("" for messages that name nothing).
func (r *Router) forward(h Headers, up *upstreams.Upstream, msg *rpc.Message, body []byte, tool string) Decision {
	d := Decision{
		Body: body,
		SetHeaders: []Header{
			{wellknown.RouteHeader, up.Cluster},
			{headerPath, up.Path()},
			{headerContentLength, strconv.Itoa(len(body))},
		},
		// The client's session id belongs to the gateway; the caller sets
		// the upstream's own session id, if it has one.
		RemoveHeaders: []string{headerSessionID},
		ClearRoute:    true,
		Call: &Call{
			Upstream:        up,
			ClientSession:   h.Get(headerSessionID),
			ProtocolVersion: h.ProtocolVersion(),
			Method:          msg.Method,
			Name:            tool,
			RequestID:       msg.ID,
		},
	}
	if h.Get(headerMCPName) != "" && tool != "" {
		// 2026-07-28: Mcp-Name must match params.name or the upstream
		// rejects the call (-32020).
		d.SetHeaders = append(d.SetHeaders, Header{headerMCPName, tool})
	}
	r.setCredentials(&d, h, up)
	return d
}

// emptyScopeMessage refuses a call on a scope with no server: an empty
// x-mcp-servers (or x-mcp-access-groups) header means none, as in LiteLLM.
const emptyScopeMessage = "No MCP servers in scope: the request's " + namespace.HeaderServers + " or " +
	namespace.HeaderAccessGroups + " header is empty"

// protocolError is an MCP protocol error on a well-formed request: HTTP 200
// with the error in the body, except under 2026-07-28, which answers 400.
func protocolError(h Headers, code int, msg string) *rpc.Error {
	status := http.StatusOK
	if IsModern(h.ProtocolVersion()) {
		status = http.StatusBadRequest
	}
	return &rpc.Error{Status: status, Code: code, Message: msg}
}

// UpstreamUnavailable is the reply when the gateway cannot reach the
// upstream a call belongs to (its session could not be opened).
func UpstreamUnavailable(call *Call) *Reply {
	return ErrorReply(&rpc.Error{
		Status: http.StatusBadGateway, Code: rpc.CodeInternalError,
		Message: fmt.Sprintf("upstream MCP server %q is unavailable", call.Upstream.Alias),
	}, call.RequestID)
}

func errorReply(e *rpc.Error, msg *rpc.Message) *Reply {
	var id []byte
	if msg != nil {
		id = msg.ID
	}
	return ErrorReply(e, id)
}

// ErrorReply is the reply that answers request id (nil when unknown) with
// the JSON-RPC error e, with e's HTTP status.
func ErrorReply(e *rpc.Error, id []byte) *Reply {
	return &Reply{
		Status:  e.Status,
		Body:    e.Response(id),
		Headers: []Header{{headerContentType, "application/json"}},
	}
}
