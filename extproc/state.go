package extproc

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/internal/metrics"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

// requestState is what one HTTP request's stream remembers between
// messages.
type requestState struct {
	router  *router.Router
	headers router.Headers
	// caller is what the headers phase learned (key, scope, session).
	caller *router.Caller
	call   *router.Call
	// sent is the body-phase decision as sent to Envoy, for a replay.
	sent *router.Decision
	// replayed is set once the call has been replayed.
	replayed bool
	// answer collects an answer the router rewrites whole (a downgraded
	// call's, a resources/read's on a prefixed scope).
	answer *collectedAnswer
	// relay rewrites the ids of upstream requests in a streamed response.
	relay *relay.Stream
	// session is the upstream session the call holds; a leased one is
	// released when the answer ends (or the stream does).
	session sessions.Session
	// watch is set while a leased call's response body streams past
	// unchanged, so the lease lasts until it ends.
	watch bool
	// metrics is what the request's observation is made of.
	metrics requestMetrics
	// meta is what the access log learns about the request.
	meta requestMeta
	// trace is the request's span (tracing on).
	trace requestTrace
}

func (s *Server) handle(ctx context.Context, st *requestState, req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch m := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		st.headers = headerMap(m.RequestHeaders.GetHeaders())
		st.metrics.start = time.Now()
		// Only POSTs are MCP requests; GET streams and DELETEs are not
		// counted.
		st.metrics.post = st.headers.Get(":method") == http.MethodPost
		if s.tracer != nil && st.metrics.post {
			st.trace.parent = s.traceParent(ctx, st.headers)
		}
		d := st.router.DecideHeaders(st.headers)
		st.caller = d.Caller
		st.meta.dirty = d.Caller != nil
		if d.EndSession != "" {
			s.sessions.EndClient(d.EndSession)
			s.sessionEvent(metrics.SessionEnded)
		}
		if d.Reply != nil {
			s.logReply(st, d.Reply)
			st.noteReply(d.Reply)
			s.record(st, replyOutcome(d.Reply))
			return immediate(d.Reply)
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
			RequestHeaders: &extprocv3.HeadersResponse{Response: common(d)},
		}}

	case *extprocv3.ProcessingRequest_RequestBody:
		d := st.router.DecideBody(st.headers, st.caller, m.RequestBody.GetBody())
		st.metrics.method = d.Method
		s.startSpan(st, d.Method, m.RequestBody.GetBody())
		st.meta.dirty = true
		if d.Reply != nil {
			s.logReply(st, d.Reply)
			st.noteReply(d.Reply)
			s.record(st, replyOutcome(d.Reply))
			return immediate(d.Reply)
		}
		if d.Call != nil {
			st.metrics.routedTo(d.Call)
			if reply := s.attachSession(ctx, st, &d); reply != nil {
				st.noteReply(reply)
				s.record(st, replyOutcome(reply))
				return immediate(reply)
			}
			s.propagate(st, &d, m.RequestBody.GetBody())
			st.sent = &d
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
			RequestBody: &extprocv3.BodyResponse{Response: common(d)},
		}}

	case *extprocv3.ProcessingRequest_ResponseHeaders:
		hs := headerMap(m.ResponseHeaders.GetHeaders())
		d := router.DecideResponse(st.call, hs.Get(":status"), hs.Get("content-type"))
		noteAuthFailure(st.call, hs.Get(":status"))
		// Asking the upstream about its session and replaying the call
		// happen while Envoy waits for this one message: bounded below
		// its message timeout, else Envoy answers a bare 504.
		rctx, cancel := context.WithTimeout(ctx, ResponseWork)
		defer cancel()
		if st.call != nil && s.sessionLost(rctx, st, d) {
			s.sessions.Evict(st.session)
			s.log.Info("upstream lost the session; evicted", "request_id", st.requestID(), "upstream", st.call.Upstream.Alias, "status", hs.Get(":status"))
			st.trace.event("mcpgw.upstream_session_lost")
			// One transparent retry on a new session: the upstream
			// refused the call before running it.
			if reply := s.replay(rctx, st); reply != nil {
				st.noteReply(reply)
				s.record(st, replyOutcome(reply))
				return immediate(reply)
			}
		}
		if d.Reply != nil {
			s.log.Warn("upstream answered with no JSON-RPC", "request_id", st.requestID(), "upstream", st.call.Upstream.Alias,
				"status", hs.Get(":status"), "content_type", hs.Get("content-type"))
			st.noteReply(d.Reply)
			s.record(st, metrics.OutcomeUpstreamFailure)
			return immediate(d.Reply)
		}
		st.metrics.outcome = statusOutcome(st.call != nil, hs.Get(":status"))
		if s.tracer != nil {
			st.trace.status, _ = strconv.Atoi(hs.Get(":status"))
		}
		if st.metrics.method == "initialize" && st.metrics.outcome == metrics.OutcomeOK && hs.Get("mcp-session-id") != "" {
			s.sessionEvent(metrics.SessionStarted)
		}
		if st.call != nil {
			s.log.Debug("call answered", "request_id", st.requestID(), "upstream", st.call.Upstream.Alias, "tool", st.call.Name, "status", hs.Get(":status"))
		}
		resp := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{
			ResponseHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
				HeaderMutation: mutation(d.SetHeaders, d.RemoveHeaders),
			}},
		}}
		eos := m.ResponseHeaders.GetEndOfStream()
		switch {
		case d.BufferBody && !eos:
			st.answer = &collectedAnswer{contentType: hs.Get("content-type"), limit: st.router.MaxResponseBody()}
			resp.ModeOverride = streamResponse
		case d.Relay != nil && !eos:
			st.relay = d.Relay
			resp.ModeOverride = streamResponse
		case d.WatchBody && !eos:
			st.watch = true
			resp.ModeOverride = streamResponse
		default:
			// No more messages come for this request.
			s.release(st, eos)
		}
		if resp.ModeOverride == nil {
			// The body passes unread: the headers decide the outcome.
			s.record(st, st.metrics.outcome)
		}
		return resp

	case *extprocv3.ProcessingRequest_RequestTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{
			RequestTrailers: &extprocv3.TrailersResponse{},
		}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		st.seeBody(m.ResponseBody.GetBody())
		if m.ResponseBody.GetEndOfStream() {
			defer s.release(st, true)
			if st.metrics.toolErr && st.metrics.outcome == metrics.OutcomeOK {
				st.metrics.outcome = metrics.OutcomeToolError
			}
			st.meta.dirty = st.meta.dirty || st.metrics.toolErr
			s.record(st, st.metrics.outcome)
		}
		if st.watch {
			return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
				ResponseBody: &extprocv3.BodyResponse{},
			}}
		}
		if st.relay != nil {
			// A streamed event stream: this chunk, rewritten.
			body := st.relay.Chunk(m.ResponseBody.GetBody(), m.ResponseBody.GetEndOfStream())
			for _, d := range st.relay.Declined() {
				s.decline(ctx, st, d)
			}
			return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
				ResponseBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
					BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}},
				}},
			}}
		}
		// Otherwise only answers the router rewrites whole ask for it.
		var out []byte
		if st.answer != nil && st.call != nil {
			var over bool
			out, over = st.answer.add(st.call, m.ResponseBody.GetBody(), m.ResponseBody.GetEndOfStream())
			if over {
				s.log.Warn("upstream answer over the limit for answers the gateway rewrites", "request_id", st.requestID(), "upstream", st.call.Upstream.Alias,
					"limit_bytes", st.answer.limit)
			}
		} else {
			out = m.ResponseBody.GetBody()
		}
		mut := &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: out}}
		if len(out) == 0 {
			mut.Mutation = &extprocv3.BodyMutation_ClearBody{ClearBody: true}
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
			ResponseBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: mut}},
		}}
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{
			ResponseTrailers: &extprocv3.TrailersResponse{},
		}}
	}
	// An unknown message type: answering anything would be spurious, and
	// ending the stream with OK would fail open, so fail closed.
	s.log.Error("unknown ext_proc message", "request_id", st.requestID(), "type", slog.AnyValue(req.Request))
	return immediate(router.ErrorReply(&rpc.Error{Status: http.StatusInternalServerError, Code: rpc.CodeInternalError,
		Message: "gateway error"}, nil))
}

// attachSession gives a routed call its upstream session, or returns the
// reply to send when the upstream cannot be reached. A 2026-07-28 client
// calling an upstream that only speaks older versions gets a legacy
// upstream session and the version negotiated for it.
func (s *Server) attachSession(ctx context.Context, st *requestState, d *router.Decision) *router.Reply {
	st.call = d.Call
	if reply := s.attachToken(ctx, st.requestID(), d); reply != nil {
		st.call = nil
		return reply
	}
	sess, err := s.sessions.Session(sessionContext(ctx, d.Call), sessionKey(d.Call), d.Call.Upstream, d.Call.ProtocolVersion)
	if err != nil {
		s.log.Warn("no upstream session", "request_id", st.requestID(), "upstream", d.Call.Upstream.Alias, "error", err)
		st.call = nil
		return router.UpstreamUnavailable(d.Call)
	}
	st.session = sess
	d.Call.UpstreamSession = sess.ID
	d.Call.Leased = sess.Leased()
	if sess.ID != "" {
		// Set, not remove-then-set: the order Envoy applies the two lists
		// in is not part of its API.
		d.RemoveHeaders = without(d.RemoveHeaders, "mcp-session-id")
		d.SetHeaders = append(d.SetHeaders, router.Header{Name: "mcp-session-id", Value: sess.ID})
	}
	switch {
	case d.Call.Modern() && sess.ProtocolVersion != "" && !router.IsModern(sess.ProtocolVersion):
		if err := router.Downgrade(d, st.headers, sess.ProtocolVersion); err != nil {
			s.log.Warn("cannot adapt call for an older upstream", "request_id", st.requestID(), "upstream", d.Call.Upstream.Alias, "error", err)
			s.release(st, false)
			st.call = nil
			return router.UpstreamUnavailable(d.Call)
		}
	case sess.ProtocolVersion != "" && sess.ProtocolVersion != d.Call.ProtocolVersion:
		d.SetHeaders = append(d.SetHeaders, router.Header{Name: "mcp-protocol-version", Value: sess.ProtocolVersion})
	case s.learnFast != nil && sess.ID == "" && d.Call.Method == "tools/call" &&
		d.Call.Owner != "" && d.Call.Credentials.ClientKey == "":
		// Sent at the client's version, with no session: as Envoy would.
		s.learnFast(d.Call.Owner, d.Call.Upstream, d.Call.ProtocolVersion)
	}
	return nil
}

// sessionKey names the upstream sessions c may use: its principal's, its
// client session's (none: leased one call at a time), opened with its
// own credentials if it sends any.
func sessionKey(c *router.Call) sessions.Key {
	return sessions.Key{Owner: c.Owner, ClientSession: c.ClientSession, Credentials: c.Credentials.ClientKey,
		Alias: c.Upstream.Alias, Modern: c.Modern(), Capabilities: clientsession.Capabilities(c.ClientCapabilities)}
}

// ResponseWork bounds what the response-headers phase of one call may do
// (a ping on its upstream session, then one replay: a new session, at most
// the pool's ConnectTimeout, and the call again), below Envoy's ext_proc
// message timeout (10 s); past it the upstream's own answer stands.
const ResponseWork = 9 * time.Second

// pingWait bounds the ping that tells a lost session from a refused call.
const pingWait = 2 * time.Second

// sessionLost reports whether the upstream refused st's call because it no
// longer knows the session the call carried: it said so (404), or it
// refused the call (400) and no longer answers a ping on the session.
func (s *Server) sessionLost(ctx context.Context, st *requestState, d router.ResponseDecision) bool {
	switch {
	case d.EvictUpstreamSession:
		return true
	case d.CheckUpstreamSession:
		pctx, cancel := context.WithTimeout(ctx, pingWait)
		defer cancel()
		return !s.sessions.Alive(sessionContext(pctx, st.call), st.session)
	}
	return false
}

// release gives back the leased upstream session st holds, if any: its
// call is over, and answered says whether its answer ended (only then may
// the session be lent again).
func (s *Server) release(st *requestState, answered bool) {
	switch {
	case !st.session.Leased():
	case answered:
		s.sessions.Release(st.session)
	default:
		s.sessions.Discard(st.session)
	}
	st.session = sessions.Session{}
}

func (s *Server) logReply(st *requestState, r *router.Reply) {
	s.log.Info("request answered by gateway", "request_id", st.requestID(), "path", st.headers.Get(":path"), "status", r.Status)
}

// headerMap flattens Envoy's header list. Envoy sends values in raw_value;
// repeated headers are joined with ", " as HTTP allows.
func headerMap(hm *corev3.HeaderMap) router.Headers {
	h := make(router.Headers, len(hm.GetHeaders()))
	for _, kv := range hm.GetHeaders() {
		v := string(kv.GetRawValue())
		if v == "" {
			v = kv.GetValue()
		}
		if prev, ok := h[kv.GetKey()]; ok {
			v = prev + ", " + v
		}
		h[kv.GetKey()] = v
	}
	return h
}

func without(list []string, name string) []string {
	out := list[:0:0]
	for _, v := range list {
		if v != name {
			out = append(out, v)
		}
	}
	return out
}
