package extproc

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Direct lists (docs/architecture.md, "Direct lists"): Envoy sends a
// list request straight to the sidecar, without ext_proc, and the sidecar
// asks this service's DecideDirect before it serves it. DecideDirect is
// the service's second adapter: it translates an HTTP request into the
// same router phases Process runs for Envoy's messages (DecideHeaders,
// then DecideBody), with the same router, log lines and metrics, and
// writes the router's reply as Envoy would write the ImmediateResponse.

// Response headers the sidecar's answer to a direct list carries for
// Envoy's access log (fastpath.lua moves them into dynamic metadata and
// removes them): what dynamicMetadata sends on the full path.
const (
	logKeyAliasHeader     = "X-Mcpgw-Log-Key-Alias"
	logMCPMethodHeader    = "X-Mcpgw-Log-Mcp-Method"
	logJSONRPCErrorHeader = "X-Mcpgw-Log-Jsonrpc-Error"
)

// DecideDirect decides r (a POST whose body has been read) as Process
// decides a request: it writes the router's reply to w and returns false,
// or returns true and done, which the caller calls with the status of its
// answer once it has served r. It serves only what the router sends to
// the sidecar unchanged; anything else (which Envoy's list mode never
// sends here) is refused with a 500, never served.
func (s *Server) DecideDirect(w http.ResponseWriter, r *http.Request, body []byte) (serve bool, done func(status int)) {
	st := &requestState{router: s.router.Load()}
	st.headers = directHeaders(r)
	st.metrics.start = time.Now()
	st.metrics.post = r.Method == http.MethodPost
	d := st.router.DecideHeaders(st.headers)
	st.caller = d.Caller
	if d.Reply != nil {
		s.writeDirectReply(w, st, d.Reply)
		return false, nil
	}
	if !sidecarOnly(d) || d.EndSession != "" {
		s.refuseDirect(w, st, "headers")
		return false, nil
	}
	b := st.router.DecideBody(st.headers, st.caller, body)
	st.metrics.method = b.Method
	if b.Reply != nil {
		s.writeDirectReply(w, st, b.Reply)
		return false, nil
	}
	if b.Call != nil || len(b.SetHeaders) > 0 || len(b.RemoveHeaders) > 0 || b.Body != nil || b.ClearRoute {
		s.refuseDirect(w, st, "body")
		return false, nil
	}
	s.setDirectLog(w.Header(), st, nil)
	return true, func(status int) {
		s.record(st, statusOutcome(false, strconv.Itoa(status)))
	}
}

// sidecarOnly reports whether a headers decision does nothing but send
// the request to the sidecar.
func sidecarOnly(d router.Decision) bool {
	return len(d.SetHeaders) == 1 && d.SetHeaders[0] == router.Header{Name: wellknown.RouteHeader, Value: wellknown.SidecarCluster} &&
		len(d.RemoveHeaders) == 0 && d.Body == nil && d.Call == nil
}

// routerAdded are the request headers Envoy's router adds on the way to
// the sidecar, after ext_proc would have seen the request: not the
// client's, so not the router's to read.
var routerAdded = map[string]bool{
	wellknown.DirectListHeader:            true,
	"x-envoy-original-host":               true, // auto_host_rewrite; :authority below
	"x-envoy-expected-rq-timeout-ms":      true,
	"x-envoy-attempt-count":               true,
	"x-envoy-upstream-stream-duration-ms": true,
}

// directHeaders are r's headers as Envoy hands them to ext_proc: lower-
// case names, repeated ones joined with ", " (headerMap), and the pseudo
// headers the router reads, the client's :authority among them (the
// route rewrote Host to the sidecar's).
func directHeaders(r *http.Request) router.Headers {
	h := make(router.Headers, len(r.Header)+4)
	for k, vs := range r.Header {
		k = strings.ToLower(k)
		if routerAdded[k] {
			continue
		}
		h[k] = strings.Join(vs, ", ")
	}
	h[":method"] = r.Method
	h[":path"] = r.RequestURI
	h[":authority"] = r.Host
	if host := r.Header.Get("X-Envoy-Original-Host"); host != "" {
		h[":authority"] = host
	}
	h[":scheme"] = "http"
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		h[":scheme"] = p
	}
	return h
}

// writeDirectReply writes the router's reply as Envoy writes the
// ImmediateResponse the full path sends for it.
func (s *Server) writeDirectReply(w http.ResponseWriter, st *requestState, reply *router.Reply) {
	s.logReply(st, reply)
	st.noteReply(reply)
	s.record(st, replyOutcome(reply))
	h := w.Header()
	for _, kv := range reply.Headers {
		h.Add(kv.Name, kv.Value)
	}
	s.setDirectLog(h, st, reply)
	h.Set("Content-Length", strconv.Itoa(len(reply.Body)))
	w.WriteHeader(reply.Status)
	w.Write(reply.Body)
}

// refuseDirect answers a request the router would not send the sidecar
// unchanged. Envoy's list mode sends only list requests, which it always
// does: so this is a gateway bug, and the request is refused, not served.
func (s *Server) refuseDirect(w http.ResponseWriter, st *requestState, phase string) {
	path, _, _ := strings.Cut(st.headers.Get(":path"), "?")
	s.log.Error("a direct list request was not the sidecar's to serve; refused", "request_id", st.requestID(),
		"path", path, "phase", phase)
	s.writeDirectReply(w, st, router.ErrorReply(&rpc.Error{Status: http.StatusInternalServerError, Code: rpc.CodeInternalError,
		Message: "internal error: the gateway could not decide this request"}, nil))
}

// setDirectLog sets the access-log headers (see logKeyAliasHeader).
func (s *Server) setDirectLog(h http.Header, st *requestState, reply *router.Reply) {
	if st.caller != nil && st.caller.Principal != nil && !st.caller.Principal.Anonymous {
		h.Set(logKeyAliasHeader, st.caller.Principal.ID)
	}
	if st.metrics.method != "" {
		h.Set(logMCPMethodHeader, st.metrics.method)
	}
	if reply != nil {
		if code, ok := replyCode(reply); ok {
			h.Set(logJSONRPCErrorHeader, strconv.Itoa(code))
		}
	}
}
