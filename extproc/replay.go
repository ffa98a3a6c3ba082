package extproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

// Replayer re-sends a routed call once, straight to its upstream, after
// the upstream refused the session the call carried (it restarted or
// expired the session). It is the only path where the gateway's Go code,
// not Envoy, carries a call's bytes: one request, on a failure.
type Replayer struct {
	// HTTPClient returns the client for an upstream (it adds the
	// upstream's static credentials). Nil means http.DefaultClient.
	HTTPClient func(*upstreams.Upstream) *http.Client
}

// hopByHop headers are not forwarded (RFC 9110 §7.6.1), nor what Envoy
// adds or the gateway computes itself.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true, "trailer": true,
	"transfer-encoding": true, "upgrade": true, "content-length": true, "host": true,
	wellknown.RouteHeader: true, // Envoy's route removes it; so must a replay
}

// callHeaders are the headers the call went to its upstream with: the
// client's, as the router rewrote them (credentials included).
func callHeaders(st *requestState) http.Header {
	h := http.Header{}
	for k, v := range st.headers {
		if !strings.HasPrefix(k, ":") && !hopByHop[k] {
			h.Set(k, v)
		}
	}
	for _, k := range st.sent.RemoveHeaders {
		h.Del(k)
	}
	for _, hv := range st.sent.SetHeaders {
		if !strings.HasPrefix(hv.Name, ":") && !hopByHop[hv.Name] {
			h.Set(hv.Name, hv.Value)
		}
	}
	return h
}

// decline answers, in the client's stead, a request the upstream sent on
// a downgraded call's stream (see relay.Stream): on the call's upstream
// session, with the call's credentials, in the background so the stream
// goes on. Without an answer the upstream would wait forever.
func (s *Server) decline(ctx context.Context, st *requestState, d relay.Declined) {
	if s.replayer == nil || st.call == nil || st.sent == nil {
		return
	}
	h := callHeaders(st)
	h.Set("content-type", "application/json")
	h.Set("accept", "application/json, text/event-stream")
	up, alias, id := st.call.Upstream, st.call.Upstream.Alias, st.requestID()
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		status, _, _, err := s.replayer.do(ctx, up, h, relay.DeclineBody(d), 1<<20)
		if err != nil || status/100 != 2 {
			s.log.Warn("could not decline an upstream request", "request_id", id, "upstream", alias, "method", d.Method, "status", status, "error", err)
			return
		}
		s.log.Info("declined an upstream request a 2026-07-28 client cannot answer", "request_id", id, "upstream", alias, "method", d.Method)
	}()
}

// replay sends the call again on a new upstream session and turns the
// upstream's answer into a reply for the client. nil means replay was not
// possible and the upstream's original answer stands.
func (s *Server) replay(ctx context.Context, st *requestState) *router.Reply {
	call, sent := st.call, st.sent
	if s.replayer == nil || call == nil || sent == nil || st.replayed {
		return nil
	}
	st.replayed = true
	s.release(st, false) // the lost session (evicted)
	sess, err := s.sessions.Session(sessionContext(ctx, call), sessionKey(call), call.Upstream, call.ProtocolVersion)
	if err != nil {
		s.log.Warn("replay: no new upstream session", "request_id", st.requestID(), "upstream", call.Upstream.Alias, "error", err)
		return nil
	}
	st.session = sess
	id := sess.ID
	h := callHeaders(st)
	h.Del("mcp-session-id")
	if id != "" {
		h.Set("mcp-session-id", id)
	}
	if sess.ProtocolVersion != "" {
		h.Set("mcp-protocol-version", sess.ProtocolVersion)
	}
	status, rh, body, err := s.replayer.do(ctx, call.Upstream, h, sent.Body, st.router.MaxResponseBody())
	if err != nil {
		s.log.Warn("replay failed", "request_id", st.requestID(), "upstream", call.Upstream.Alias, "error", err)
		if errors.Is(err, context.DeadlineExceeded) {
			// The upstream may be running it; the client must not read
			// the first session's 404 as its own session being gone.
			return router.ReplayFailed(call, fmt.Sprintf("the call replayed on a new one did not answer within %s", ResponseWork))
		}
		return nil
	}
	s.log.Info("call replayed on a new upstream session", "request_id", st.requestID(), "upstream", call.Upstream.Alias, "status", status)
	st.trace.event("mcpgw.replayed")
	if status == http.StatusNotFound && id != "" {
		s.sessions.Evict(sess) // lost at once: never lend it again
	}
	// The answer was read whole: the session may serve the next call.
	s.release(st, true)
	if expectsAnswer(call, status) && !router.Answered(rh.Get("Content-Type"), body) {
		s.log.Warn("replay: the answer holds no JSON-RPC response", "request_id", st.requestID(), "upstream", call.Upstream.Alias, "bytes", len(body))
		return router.ReplayFailed(call, "the call replayed on a new one got no answer")
	}
	if status/100 == 2 {
		// The answer the client gets is rewritten as on the direct path
		// (relayed ids, a downgraded call's results, read URIs).
		body, _ = router.DecideResponseBody(call, body, rh.Get("Content-Type"), false)
	}
	reply := &router.Reply{Status: status, Body: body}
	if ct := rh.Get("Content-Type"); ct != "" {
		reply.Headers = append(reply.Headers, router.Header{Name: "content-type", Value: ct})
	}
	if call.ClientSession != "" {
		reply.Headers = append(reply.Headers, router.Header{Name: "mcp-session-id", Value: call.ClientSession})
	}
	return reply
}

func (r *Replayer) do(ctx context.Context, up *upstreams.Upstream, h http.Header, body []byte, limit int) (int, http.Header, []byte, error) {
	if up.URL == nil {
		return 0, nil, nil, fmt.Errorf("upstream %s has no url", up.Alias)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, up.URL.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = h
	hc := http.DefaultClient
	if r.HTTPClient != nil {
		hc = r.HTTPClient(up)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return 0, nil, nil, err
	}
	if len(b) > limit {
		return 0, nil, nil, fmt.Errorf("answer larger than %d bytes (gateway.max_response_body_bytes)", limit)
	}
	return resp.StatusCode, resp.Header, b, nil
}

// expectsAnswer reports whether the upstream's status-th answer to call
// must hold its JSON-RPC response: a request's 2xx, but for 202 and 204,
// which carry none (a notification's or a response's acceptance).
func expectsAnswer(call *router.Call, status int) bool {
	return call.Method != "" && call.RequestID != nil && status/100 == 2 &&
		status != http.StatusAccepted && status != http.StatusNoContent
}
