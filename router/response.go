package router

import (
	"mime"
	"strconv"
)

// ResponseDecision is what to do with the response headers of a request.
type ResponseDecision struct {
	SetHeaders    []Header
	RemoveHeaders []string
	// EvictUpstreamSession is set when the upstream no longer knows the
	// session the call carried: the next call must open a new one.
	EvictUpstreamSession bool
	// BufferBody asks for the response body: a JSON answer to rewrite
	// (DecideResponseBody; see Relay for what changes).
	BufferBody bool
	// Relay, when set, asks for the response event stream chunk by chunk,
	// each chunk rewritten by it.
	Relay *Relay
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
	// (server-everything) answer 400 "No valid session ID". A call that
	// carried no session cannot have lost one: its 400 is a plain error.
	code, _ := strconv.Atoi(status)
	if (code == 404 || code == 400) && call.UpstreamSession != "" {
		d.EvictUpstreamSession = true
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if r := NewRelay(call); r != nil {
		switch {
		case code == 200 && mt == "text/event-stream":
			d.Relay = r
		case code >= 200 && code < 300 && (call.Downgraded || call.URIPrefix != ""):
			d.BufferBody = true // one JSON answer to rewrite
		}
	}
	if d.Relay != nil {
		// Rewriting changes the length; Envoy does not drop it for a
		// body streamed by override.
		d.RemoveHeaders = append(d.RemoveHeaders, headerContentLength)
	}
	return d
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
