package router

import "strconv"

// ResponseDecision is what to do with the response headers of a request.
type ResponseDecision struct {
	SetHeaders    []Header
	RemoveHeaders []string
	// EvictUpstreamSession is set when the upstream no longer knows the
	// session the call carried: the next call must open a new one.
	EvictUpstreamSession bool
}

// DecideResponse handles response headers. For a call routed to an
// upstream, the upstream's session id must not leak to the client (it
// would replace the gateway session id in clients that track it on every
// response): the client gets back its own gateway session id.
func DecideResponse(call *Call, status string) ResponseDecision {
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
	// (server-everything) answer 400 "No valid session ID".
	if code, _ := strconv.Atoi(status); code == 404 || code == 400 {
		d.EvictUpstreamSession = true
	}
	return d
}
