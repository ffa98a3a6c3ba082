//go:build cgo

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/mcpgw/mcpgw/envoy/decisionlog"
	"github.com/mcpgw/mcpgw/envoy/fastpath"
	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// filterConfig is the listener's configuration (fastpath.FilterConfig).
type filterConfig struct {
	passThrough map[string]bool
	// decisions takes the calls decided, for the gateway's decision log;
	// nil when the configuration names no access log service.
	decisions *decisionlog.Sender
	yield     *yielder
}

func newFilterConfig(data []byte) (*filterConfig, error) {
	var c fastpath.FilterConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("fast path filter config: %w", err)
	}
	fc := &filterConfig{passThrough: make(map[string]bool, len(c.PassThrough)), yield: &yielder{every: yieldEvery}}
	for _, h := range c.PassThrough {
		fc.passThrough[h] = true
	}
	if len(c.DecisionLog) > 0 {
		var err error
		// Envoy's stderr is the gateway's Envoy log.
		warn := func(msg string) { fmt.Fprintln(os.Stderr, msg) }
		if fc.decisions, err = decisionlog.Start(c.DecisionLog, decisionlog.Options{Warn: warn}); err != nil {
			return nil, err
		}
	}
	return fc, nil
}

// close stops what the configuration started, once Envoy drops it.
func (fc *filterConfig) close() {
	if fc.decisions != nil {
		fc.decisions.Close()
	}
}

func newRouteConfig(data []byte) (*fastpath.Route, error) { return fastpath.ParseRoute(data) }

// stream is one request's filter.
type stream struct {
	config *filterConfig
	route  *fastpath.Route
	// What the request's headers allowed: a call to decide, a list to
	// look for, once the body is in.
	pending *fastpath.Pending
	mayList bool
	headers fastpath.Headers
	// What was decided: a call (decided) or a list for the sidecar
	// (direct); replace is the body replacing an unreadable answer.
	decided *fastpath.Decision
	direct  bool
	replace []byte
	// relay rewrites the answer's event stream (Decision.Relay).
	relay *relay.Stream
	// changing is set once the request is being changed: from then on
	// it is no longer the client's, and may not go on to ext_proc.
	changing bool
}

func (s *stream) requestHeaders(f envoyFilter, endOfStream bool) int {
	h := f.routeConfig()
	if h == 0 || endOfStream {
		return statusContinue
	}
	s.route = routeOf(h)
	s.headers = f.headers(requestHeaders)
	s.pending = s.route.Headers(s.headers, time.Now())
	s.mayList = s.route.MayList(s.headers)
	if s.pending == nil && !s.mayList {
		return statusContinue
	}
	// Hold the headers until the body is in.
	return statusStop
}

func (s *stream) requestBody(f envoyFilter, endOfStream bool) int {
	if s.pending == nil && !s.mayList {
		return statusContinue
	}
	if !endOfStream {
		return statusStop // buffer
	}
	body := f.body(bufferedRequestBody, receivedRequestBody)
	if s.mayList && fastpath.IsList(body) {
		// To the sidecar's direct route (envoy/directlist.go), which
		// matches decided_by "sidecar".
		s.direct = true
		f.setMetadata(wellknown.MetadataNamespace, "decided_by", wellknown.DirectListDecidedBy)
		f.clearRouteCache()
		return statusContinue
	}
	if s.pending == nil {
		return statusContinue
	}
	d := s.pending.Body(body)
	if d == nil {
		return statusContinue
	}
	s.decided = d
	s.changing = true
	if d.Body != nil {
		f.replaceBody(bufferedRequestBody, receivedRequestBody, d.Body)
		f.setHeader(requestHeaders, "content-length", strconv.Itoa(len(d.Body)))
		if d.SetMCPName {
			f.setHeader(requestHeaders, "mcp-name", d.Tool)
		}
	}
	// What the full path sends upstream: the client's headers but for
	// the MCP protocol's own and a few others (upstreams/credentials).
	for _, name := range fastpath.DropHeaders(s.headers, s.config.passThrough) {
		f.removeHeader(requestHeaders, name)
	}
	// The upstream's path, set here as ext_proc sets it on the full path
	// (a route rewrite would send x-envoy-original-path upstream).
	f.setHeader(requestHeaders, ":path", d.Path)
	// The decision, in the namespace ext_proc writes its own in (the
	// access log reads it there); the fast route matches decided_by and
	// server.
	f.setMetadataBatch(wellknown.MetadataNamespace,
		"key_alias", d.KeyAlias,
		"key_team", d.Team,
		"key_org", d.Org,
		"server", d.Server,
		"tool", d.Tool,
		"mcp_method", "tools/call",
		"jsonrpc_id", d.ID,
		"decided_by", wellknown.FastPathDecidedBy)
	f.clearRouteCache()
	if s.config.decisions != nil {
		id, _ := s.headers.Get("x-request-id")
		s.config.decisions.Send(decisionlog.Entry{RequestID: id, KeyAlias: d.KeyAlias, Team: d.Team, Org: d.Org, Server: d.Server, Tool: d.Tool})
	}
	return statusContinue
}

func (s *stream) responseHeaders(f envoyFilter, endOfStream bool) int {
	switch {
	case s.direct:
		s.directAnswer(f)
	case s.decided != nil:
		if s.decided.Session != "" {
			// The client's own id back (the fast route removed the
			// upstream's).
			f.setHeader(responseHeaders, "mcp-session-id", s.decided.Session)
		}
		status, _ := f.header(responseHeaders, ":status")
		code, _ := strconv.Atoi(status)
		ct, _ := f.header(responseHeaders, "content-type")
		body := s.decided.UnreadableAnswer(code, ct)
		if body == nil {
			if code == http.StatusOK && rpc.MediaType(ct) == "text/event-stream" && !endOfStream {
				// As the full path (router.DecideResponse): the stream
				// is rewritten as it comes, so its length changes.
				if s.relay = s.decided.Relay(); s.relay != nil {
					f.removeHeader(responseHeaders, "content-length")
				}
			}
			return statusContinue
		}
		// The full path's reply carries none of the upstream's headers.
		for _, x := range f.headers(responseHeaders) {
			if x.Name != ":status" {
				f.removeHeader(responseHeaders, x.Name)
			}
		}
		f.setHeader(responseHeaders, ":status", strconv.Itoa(http.StatusBadGateway))
		f.setHeader(responseHeaders, "content-type", "application/json")
		f.setHeader(responseHeaders, "content-length", strconv.Itoa(len(body)))
		f.setMetadataNumber(wellknown.MetadataNamespace, "jsonrpc_error", -32603)
		if endOfStream {
			// No body to replace: this one ends the answer.
			f.appendBody(bufferedResponseBody, body)
			return statusContinue
		}
		s.replace = body
		return statusStop // until the upstream's body is over, to replace it
	}
	return statusContinue
}

// responseBody relays an event stream chunk by chunk, or drops an
// unreadable answer's body as it comes and ends the answer with its
// replacement.
func (s *stream) responseBody(f envoyFilter, endOfStream bool) int {
	if s.relay != nil {
		in := f.body(receivedResponseBody)
		out := s.relay.Chunk(in, endOfStream)
		// Most chunks come out as they went in (an answer, no request
		// of the upstream's to rename): Envoy's buffer is left alone.
		if !bytes.Equal(out, in) {
			f.dropBody(receivedResponseBody)
			f.appendBody(receivedResponseBody, out)
		}
		if endOfStream {
			s.relay = nil
		}
		return statusContinue
	}
	if s.replace == nil {
		return statusContinue
	}
	f.dropBody(receivedResponseBody)
	if !endOfStream {
		return statusStopNoBuffer
	}
	f.appendBody(receivedResponseBody, s.replace)
	s.replace = nil
	return statusContinue
}

// responseTrailers ends with the replacement an unreadable answer that
// ended with trailers, or a relayed stream with what it held back.
func (s *stream) responseTrailers(f envoyFilter) int {
	if s.relay != nil {
		if rest := s.relay.Chunk(nil, true); len(rest) > 0 {
			f.appendBody(bufferedResponseBody, rest)
		}
		s.relay = nil
	}
	if s.replace != nil {
		f.appendBody(bufferedResponseBody, s.replace)
		s.replace = nil
	}
	return statusContinue
}

// failed is what a request gets when a hook panicked: it goes on
// untouched (to ext_proc, the full path) unless it was being changed,
// then Envoy answers it 500 (fail closed).
func (s *stream) failed(f envoyFilter) int {
	if s.changing {
		f.reply(500, "mcpgw_fast_path_failed")
		return statusStop
	}
	return statusContinue
}

// directAnswer moves what the sidecar tells the access log out of its
// answer's headers into dynamic metadata.
func (s *stream) directAnswer(f envoyFilter) {
	refused := false
	for name, key := range fastpath.DirectLogHeaders {
		v, ok := f.header(responseHeaders, name)
		if !ok {
			continue
		}
		f.removeHeader(responseHeaders, name)
		if key == "jsonrpc_error" {
			refused = true
			if n, ok := fastpath.JSONRPCError(v); ok {
				f.setMetadataNumber(wellknown.MetadataNamespace, key, n)
			}
			continue
		}
		f.setMetadata(wellknown.MetadataNamespace, key, v)
	}
	// A refusal is the full path's reply, which Envoy answers itself:
	// no upstream timing.
	if refused {
		f.removeHeader(responseHeaders, "x-envoy-upstream-service-time")
	}
}
