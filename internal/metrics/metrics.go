// Package metrics is the gateway's own Prometheus metrics, served on the
// operations listener at /metrics (docs/operations.md lists every name,
// label and example queries).
//
// Names follow the OpenTelemetry MCP semantic conventions where they name
// a metric: mcp.server.operation.duration (a histogram, seconds) becomes
// mcp_server_operation_duration_seconds, its mcp.method.name and
// gen_ai.tool.name attributes the labels mcp_method_name and
// gen_ai_tool_name. Everything else is mcpgw_*.
//
// The hot path is one label lookup and one observation: label values come
// from small fixed sets (methods, outcomes) or the configured server
// aliases; the tool label, the only one a client can make numerous, is
// off unless gateway.metrics_tool_label is set.
package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Outcomes of an MCP request (the outcome label).
const (
	OutcomeOK = "ok"
	// OutcomeToolError is a tools/call result with isError: true, counted
	// only where the gateway sees the answer's body (see docs).
	OutcomeToolError = "tool_error"
	// OutcomeDenied is a request refused for its key or policy (401, 403).
	OutcomeDenied = "denied"
	// OutcomeUpstreamFailure is an upstream that could not be reached,
	// failed (5xx) or answered with something that is not JSON-RPC.
	OutcomeUpstreamFailure = "upstream_failure"
	// JSON-RPC error classes of requests the gateway answered itself.
	OutcomeParseError     = "parse_error"
	OutcomeInvalidRequest = "invalid_request"
	OutcomeMethodNotFound = "method_not_found"
	OutcomeInvalidParams  = "invalid_params"
	OutcomeInternalError  = "internal_error"
	OutcomeServerError    = "server_error"
	OutcomeClientError    = "client_error" // another 4xx the gateway answered
	// OutcomeCancelled is a request that ended before its answer began
	// (the client went away).
	OutcomeCancelled = "cancelled"
)

// JSONRPCOutcome is the outcome label of a JSON-RPC error code.
func JSONRPCOutcome(code int) string {
	switch {
	case code == -32700:
		return OutcomeParseError
	case code == -32600:
		return OutcomeInvalidRequest
	case code == -32601:
		return OutcomeMethodNotFound
	case code == -32602:
		return OutcomeInvalidParams
	case code == -32603:
		return OutcomeInternalError
	}
	return OutcomeServerError
}

// knownMethods are the mcp_method_name values; any other method is
// "other", so a client cannot make new series by inventing methods.
var knownMethods = map[string]bool{
	"initialize": true, "ping": true, "tools/list": true, "tools/call": true,
	"prompts/list": true, "prompts/get": true, "resources/list": true, "resources/read": true,
	"resources/templates/list": true, "resources/subscribe": true, "resources/unsubscribe": true,
	"completion/complete": true, "logging/setLevel": true, "server/discover": true,
	"notifications/initialized": true, "notifications/cancelled": true,
	"notifications/roots/list_changed": true,
}

// MethodLabel is the mcp_method_name value for method: itself when it is
// an MCP method, "" when unknown (the request was answered before its
// body was read), else "other".
func MethodLabel(method string) string {
	if method == "" || knownMethods[method] {
		return method
	}
	return "other"
}

// Metrics are one gateway's metrics, in a registry of their own.
type Metrics struct {
	reg       *prometheus.Registry
	toolLabel bool

	operations *prometheus.HistogramVec
	decisions  *prometheus.CounterVec
	adminAPI   *prometheus.CounterVec
	sessions   *prometheus.CounterVec
}

// DurationBuckets suit MCP requests: sub-millisecond gateway answers up
// to tool calls of a minute (the default server timeout).
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// Series are the metrics a process fills, for NewFor: a process exports
// only what it counts, so a sum over processes counts each event once.
type Series uint8

const (
	// RequestSeries are the ext_proc service's: every MCP request
	// (mcp_server_operation_duration_seconds) and client sessions.
	RequestSeries Series = 1 << iota
	// DecisionSeries are policy decisions, made by the ext_proc service
	// and by the sidecar for the servers it serves itself.
	DecisionSeries
	// AdminAPISeries are the admin API's writes (mcpgw run only).
	AdminAPISeries

	// AllSeries is everything: the one process of mcpgw run.
	AllSeries = RequestSeries | DecisionSeries | AdminAPISeries
)

// New registers the gateway's metrics (and Go's and the process's own);
// toolLabel adds gen_ai_tool_name to the request metrics.
func New(toolLabel bool) *Metrics { return NewFor(AllSeries, toolLabel) }

// NewFor registers series and Go's and the process's own metrics: those
// of a component run as its own process. Recording what is not
// registered (Request on a sidecar's) is counted but never exported.
// The gauges and counters read at scrape time (UpstreamSessions,
// DiscoveryFailures, TokenFetches) are registered by their own calls.
func NewFor(series Series, toolLabel bool) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), toolLabel: toolLabel}
	labels := []string{"mcp_method_name", "server", "outcome"}
	if toolLabel {
		labels = append(labels, "gen_ai_tool_name")
	}
	m.operations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mcp_server_operation_duration_seconds",
		Help:    "MCP requests through the gateway, by method, server and outcome: from the request's headers reaching the gateway to the answer's headers (the whole answer where the gateway reads it).",
		Buckets: DurationBuckets,
	}, labels)
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpgw_policy_decisions_total",
		Help: "Access decisions on calls (tools/call, prompts/get, resources/read, ...), by decision: allow, deny, hidden (answered as an unknown name), invalid (arguments the policy cannot read).",
	}, []string{"decision"})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpgw_client_sessions_total",
		Help: "Client sessions by event: started (an initialize answered with a new gateway session id), ended (a DELETE of a session the caller's key holds). Session ids are sealed, not stored: a session a client abandons ends, unseen, at gateway.session_ttl.",
	}, []string{"event"})
	m.adminAPI = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpgw_admin_api_writes_total",
		Help: "Admin API requests that change something (POST, PUT, PATCH, DELETE), by object kind and HTTP status code.",
	}, []string{"object", "code"})
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if series&RequestSeries != 0 {
		m.reg.MustRegister(m.operations, m.sessions)
	}
	if series&DecisionSeries != 0 {
		m.reg.MustRegister(m.decisions)
	}
	if series&AdminAPISeries != 0 {
		m.reg.MustRegister(m.adminAPI)
	}
	// Pre-created series: dashboards see zeros rather than no data.
	for _, d := range []string{"allow", "deny", "hidden", "invalid"} {
		m.decisions.WithLabelValues(d)
	}
	for _, e := range []string{SessionStarted, SessionEnded} {
		m.sessions.WithLabelValues(e)
	}
	return m
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where further collectors (gauges read at scrape time) go.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// UpstreamSessions reports open() at each scrape as
// mcpgw_upstream_sessions_open: the sessions the gateway holds open with
// upstream servers for its clients' calls.
func (m *Metrics) UpstreamSessions(open func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mcpgw_upstream_sessions_open",
		Help: "Upstream MCP sessions the gateway holds open for routed calls.",
	}, func() float64 { return float64(open()) }))
}

// Request records one MCP request. tool is ignored unless the tool label
// is on.
func (m *Metrics) Request(method, server, tool, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	var o prometheus.Observer
	if m.toolLabel {
		o = m.operations.WithLabelValues(MethodLabel(method), server, outcome, tool)
	} else {
		o = m.operations.WithLabelValues(MethodLabel(method), server, outcome)
	}
	o.Observe(d.Seconds())
}

// Decision records one policy decision.
func (m *Metrics) Decision(allow, hidden, invalid bool) {
	if m == nil {
		return
	}
	d := "deny"
	switch {
	case allow:
		d = "allow"
	case invalid:
		d = "invalid"
	case hidden:
		d = "hidden"
	}
	m.decisions.WithLabelValues(d).Inc()
}

// Client session events (the event label of mcpgw_client_sessions_total).
const (
	SessionStarted = "started"
	SessionEnded   = "ended"
)

// ClientSession counts a client session event (SessionStarted,
// SessionEnded).
func (m *Metrics) ClientSession(event string) {
	if m != nil {
		m.sessions.WithLabelValues(event).Inc()
	}
}

// DiscoveryFailures reports read() at each scrape as
// mcpgw_upstream_discovery_failures_total{server}: how many times the
// sidecar's discovery found each upstream unusable (a failed connection
// or tools/list), summed over what read returns. A server removed and
// added again starts from zero (a counter reset).
func (m *Metrics) DiscoveryFailures(read func() map[string]uint64) {
	m.reg.MustRegister(&counterFunc{
		desc: prometheus.NewDesc("mcpgw_upstream_discovery_failures_total",
			"Times the sidecar's discovery found an upstream server unusable: a failed connection, or a failed tools/list.", []string{"server"}, nil),
		read: func(emit func(n uint64, labels ...string)) {
			for server, n := range read() {
				emit(n, server)
			}
		},
	})
}

// TokenFetch is one server's count of OAuth2 token fetches with one
// outcome (tokens.Source.Fetches: ok, refused, timeout, unreachable,
// invalid, error).
type TokenFetch struct {
	Server, Outcome string
	N               uint64
}

// TokenFetches reports read() at each scrape as
// mcpgw_oauth2_token_fetches_total{server, outcome}: requests to the
// token endpoints of oauth2 servers (client credentials), counted by the
// token sources. Counts of the same server and outcome are summed.
func (m *Metrics) TokenFetches(read func() []TokenFetch) {
	m.reg.MustRegister(&counterFunc{
		desc: prometheus.NewDesc("mcpgw_oauth2_token_fetches_total",
			"OAuth2 client-credentials token requests to upstream servers' token endpoints, by server and outcome: ok, refused, timeout, unreachable, invalid, error.", []string{"server", "outcome"}, nil),
		read: func(emit func(n uint64, labels ...string)) {
			sum := map[[2]string]uint64{}
			for _, f := range read() {
				sum[[2]string{f.Server, f.Outcome}] += f.N
			}
			for k, n := range sum {
				emit(n, k[0], k[1])
			}
		},
	})
}

// counterFunc is counters read at scrape time from counts kept elsewhere.
type counterFunc struct {
	desc *prometheus.Desc
	read func(emit func(n uint64, labels ...string))
}

func (c *counterFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *counterFunc) Collect(ch chan<- prometheus.Metric) {
	c.read(func(n uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), labels...)
	})
}

// AdminAPI counts the admin API's writes (every method but GET and
// HEAD), labelled by the kind of object the path names (server, key,
// team, organization) and the status code.
func (m *Metrics) AdminAPI(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.adminAPI.WithLabelValues(adminObject(r.URL.Path), codeLabel(rec.code)).Inc()
	})
}

// adminObject is the kind of object an admin API path writes.
func adminObject(path string) string {
	switch {
	case strings.HasPrefix(path, "/v1/mcp/server"):
		return "server"
	case strings.HasPrefix(path, "/key/"):
		return "key"
	case strings.HasPrefix(path, "/team/"):
		return "team"
	case strings.HasPrefix(path, "/organization/"):
		return "organization"
	}
	return "other"
}

func codeLabel(code int) string {
	const digits = "0123456789"
	if code < 100 || code > 599 {
		return "other"
	}
	return string([]byte{digits[code/100], digits[code/10%10], digits[code%10]})
}

type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
