package router

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/rpc"
)

// ResponseDecision is what to do with the response headers of a request.
type ResponseDecision struct {
	// Reply, if set, replaces the upstream's answer (after a replay, if
	// the session was lost, was tried).
	Reply         *Reply
	SetHeaders    []Header
	RemoveHeaders []string
	// EvictUpstreamSession is set when the upstream no longer knows the
	// session the call carried: the next call must open a new one.
	EvictUpstreamSession bool
	// CheckUpstreamSession is set when the upstream's refusal may mean it
	// lost the session (a 400: TypeScript servers answer so for an unknown
	// session, go-sdk for a duplicate request id): ask the upstream before
	// taking it for lost.
	CheckUpstreamSession bool
	// WatchBody asks for the response body only to know when it ends: the
	// call holds a leased upstream session until then (no other call may
	// use it while the upstream still answers). Chunks pass unchanged.
	WatchBody bool
	// BufferBody asks for the response body: a JSON answer to rewrite
	// (DecideResponseBody; see Relay for what changes), whole, at most
	// Router.MaxResponseBody bytes of it (ResponseTooLarge otherwise). The
	// headers go ahead of it, without content-length.
	BufferBody bool
	// Relay, when set, asks for the response event stream chunk by chunk,
	// each chunk rewritten by it.
	Relay *relay.Stream
}

// DecideResponse handles response headers. For a call routed to an
// upstream, the upstream's session id must not leak to the client (it
// would replace the gateway session id in clients that track it on every
// response): the client gets back its own gateway session id.
func DecideResponse(call *Call, status, contentType string) ResponseDecision {
	if call == nil {
		return ResponseDecision{}
	}
	var d ResponseDecision
	if call.ClientSession != "" {
		d.SetHeaders = []Header{{headerSessionID, call.ClientSession}}
	} else {
		d.RemoveHeaders = []string{headerSessionID}
	}
	// go-sdk answers 404 for an unknown session; TypeScript servers
	// (server-everything) answer 400 "No valid session ID", but a 400 may
	// as well be about the call itself. A call that carried no session
	// cannot have lost one.
	code, _ := strconv.Atoi(status)
	switch {
	case call.UpstreamSession == "":
	case code == 404:
		d.EvictUpstreamSession = true
	case code == 400:
		d.CheckUpstreamSession = true
	}
	if rpc.UnreadableAnswer(code, contentType) {
		// An HTML error page, plain text: nothing an MCP client can read.
		d.Reply = ErrorReply(rpc.UnreadableAnswerError(call.Upstream.Alias, code, contentType), call.RequestID)
		return d
	}
	mt := rpc.MediaType(contentType)
	if r := NewRelay(call); r != nil {
		switch {
		case code == 200 && mt == "text/event-stream":
			d.Relay = r
		case code >= 200 && code < 300 && (call.Downgraded || call.URIPrefix != ""):
			d.BufferBody = true // one JSON answer to rewrite
		}
	}
	if d.Relay != nil || d.BufferBody {
		// Rewriting changes the length, and the headers leave before the
		// body is rewritten; Envoy does not drop it for a body streamed
		// by override.
		d.RemoveHeaders = append(d.RemoveHeaders, headerContentLength)
	}
	d.WatchBody = call.Leased && d.Relay == nil && !d.BufferBody
	return d
}

// ResponseTooLarge is the answer that replaces an upstream's answer to
// call that exceeds limit bytes (gateway.max_response_body_bytes) where
// the gateway must hold it whole to rewrite it.
func ResponseTooLarge(call *Call, limit int) []byte {
	e := &rpc.Error{Code: rpc.CodeInternalError, Message: fmt.Sprintf(
		"upstream MCP server %q answered more than %d bytes, the gateway's limit for answers it rewrites (gateway.max_response_body_bytes)",
		call.Upstream.Alias, limit)}
	return e.Response(call.RequestID)
}

// DecideResponseBody rewrites the buffered answer of call (see Relay);
// contentLength says whether the response carries a content-length
// header, which then must match.
func DecideResponseBody(call *Call, body []byte, contentType string, contentLength bool) (newBody []byte, set []Header) {
	newBody = body
	if r := NewRelay(call); r != nil {
		if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/event-stream" {
			newBody = r.Chunk(body, true)
		} else {
			newBody = r.Answer(body)
		}
	}
	if contentLength {
		set = []Header{{headerContentLength, strconv.Itoa(len(newBody))}}
	}
	return newBody, set
}

// Answered reports whether body, a successful answer of media type
// contentType, holds a JSON-RPC response: one JSON message, or an event
// stream with one among its events. An answer cut short (the upstream
// dropped the session under the call, the connection broke) holds none
// and must not reach the client as if it were the result.
func Answered(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "text/event-stream" {
		msg, batch, err := rpc.Parse(body)
		return err == nil && (batch || msg.Kind == rpc.KindResponse)
	}
	// Events are separated by blank lines; an event's data is its data:
	// lines joined with newlines.
	for _, event := range strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(body)), "\n\n") {
		var data []string
		for _, line := range strings.Split(event, "\n") {
			if v, ok := strings.CutPrefix(line, "data:"); ok {
				data = append(data, strings.TrimPrefix(v, " "))
			}
		}
		if len(data) == 0 {
			continue
		}
		if msg, _, err := rpc.Parse([]byte(strings.Join(data, "\n"))); err == nil && msg.Kind == rpc.KindResponse {
			return true
		}
	}
	return false
}

// ReplayFailed is the reply when a call replayed on a new upstream session
// got no usable answer.
func ReplayFailed(call *Call, why string) *Reply {
	return ErrorReply(&rpc.Error{Status: http.StatusBadGateway, Code: rpc.CodeInternalError,
		Message: fmt.Sprintf("upstream MCP server %q lost the session and %s", call.Upstream.Alias, why)}, call.RequestID)
}
