package extproc

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/internal/metrics"
)

// Recorder receives one observation per MCP request (POST) the service
// sees: its JSON-RPC method, the server a routed call went to ("" for the
// sidecar's and the gateway's own answers), the tool of a tools/call,
// the outcome (the metrics.Outcome* values) and how long it took.
type Recorder interface {
	Request(method, server, tool, outcome string, d time.Duration)
}

// WithMetrics records every MCP request in r (and client sessions, when
// r is also a SessionRecorder).
func WithMetrics(r Recorder) Option { return func(s *Server) { s.metrics = r } }

// SessionRecorder counts client sessions: metrics.SessionStarted when an
// initialize is answered with a new session id, metrics.SessionEnded when
// a client DELETEs a session its key holds.
type SessionRecorder interface {
	ClientSession(event string)
}

// sessionEvent counts a client session event, if the recorder counts
// them.
func (s *Server) sessionEvent(event string) {
	if r, ok := s.metrics.(SessionRecorder); ok {
		r.ClientSession(event)
	}
}

// toolErrorMarker is how an isError result starts in the JSON encodings
// MCP servers send (no space after the colon: go-sdk, the TypeScript and
// Python SDKs). Inside a JSON string the quotes would be escaped, so a
// tool's text that mentions it does not match.
var toolErrorMarker = []byte(`"isError":true`)

// requestMetrics is one request's part of requestState.
type requestMetrics struct {
	start    time.Time
	post     bool
	method   string
	server   string // a routed call's upstream
	tool     string // a routed tools/call's tool (unprefixed)
	outcome  string // from the response headers, until the body is seen
	toolErr  bool
	recorded bool
}

// record observes st's request once: its metrics and the end of its
// span, with the same outcome.
func (s *Server) record(st *requestState, outcome string) {
	m := &st.metrics
	if !m.post || m.recorded {
		return
	}
	m.recorded = true
	if s.metrics != nil {
		s.metrics.Request(m.method, m.server, m.tool, outcome, time.Since(m.start))
	}
	if s.tracer != nil {
		s.endSpan(st, outcome)
	}
}

// routedTo notes the upstream and tool of a routed call.
func (m *requestMetrics) routedTo(c *router.Call) {
	m.server = c.Upstream.Alias
	if c.Method == "tools/call" {
		m.tool = c.Name
	}
}

// replyOutcome classifies an answer the gateway gives itself.
func replyOutcome(r *router.Reply) string {
	switch {
	case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden:
		return metrics.OutcomeDenied
	case r.Status == http.StatusBadGateway || r.Status == http.StatusGatewayTimeout || r.Status == http.StatusServiceUnavailable:
		return metrics.OutcomeUpstreamFailure
	}
	if code, ok := replyCode(r); ok {
		return metrics.JSONRPCOutcome(code)
	}
	if r.Status >= 500 {
		return metrics.OutcomeInternalError
	}
	return metrics.OutcomeClientError
}

// statusOutcome classifies an answer by its HTTP status: a routed call's
// (the upstream's, or Envoy's own 502/504 for it) or the sidecar's.
func statusOutcome(routed bool, status string) string {
	code, _ := strconv.Atoi(status)
	switch {
	case code >= 200 && code < 300:
		return metrics.OutcomeOK
	case routed && code >= 500:
		return metrics.OutcomeUpstreamFailure
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return metrics.OutcomeDenied
	case code >= 500:
		return metrics.OutcomeInternalError
	}
	return metrics.OutcomeClientError
}

// seeBody notes a chunk of a tools/call answer the service reads anyway.
func (st *requestState) seeBody(chunk []byte) {
	if !st.metrics.toolErr && st.call != nil && st.call.Method == "tools/call" && bytes.Contains(chunk, toolErrorMarker) {
		st.metrics.toolErr = true
	}
}
