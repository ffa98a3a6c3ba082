package extproc

import "github.com/mcpgw/mcpgw/extproc/router"

// collectedAnswer gathers an answer the router rewrites whole. Envoy is
// asked for it chunk by chunk rather than buffered: Envoy's buffer limit
// for it is the listener's (the request body limit), and an answer that
// outgrew it while the response headers were with the ext_proc service
// stalled the stream until the client gave up. Each chunk is withheld
// (the headers have gone ahead, without content-length), and the
// rewritten answer goes out in place of the last one; an answer over
// limit is replaced by a JSON-RPC error saying so.
type collectedAnswer struct {
	contentType string
	limit       int
	body        []byte
	over        bool
}

// add takes one chunk and returns what goes downstream in its place;
// over is set for the chunk that took the answer past the limit.
func (a *collectedAnswer) add(call *router.Call, chunk []byte, last bool) (out []byte, over bool) {
	if a.over {
		return nil, false // the error went out already; the rest is dropped
	}
	if len(a.body)+len(chunk) > a.limit {
		a.over, a.body = true, nil
		return router.ResponseTooLarge(call, a.limit), true
	}
	a.body = append(a.body, chunk...)
	if !last {
		return nil, false
	}
	out, _ = router.DecideResponseBody(call, a.body, a.contentType, false)
	a.body = nil
	return out, false
}
