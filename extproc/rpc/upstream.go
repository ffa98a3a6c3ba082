package rpc

import (
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// UnreadableAnswer reports whether an upstream's answer of status code
// and Content-Type contentType is no answer an MCP client can read: a
// success or a server error that is not JSON-RPC (an HTML error page,
// plain text). 4xx answers pass as they are, with their WWW-Authenticate
// or Retry-After (a client sending its own upstream credentials must tell
// a refused token from an outage); 202 and 204 carry nothing. The full
// path (extproc/router) and Envoy's fast path (envoy/fastpath) both
// replace such an answer with UnreadableAnswerError.
func UnreadableAnswer(code int, contentType string) bool {
	mt := MediaType(contentType)
	switch {
	case code == http.StatusAccepted || code == http.StatusNoContent:
		return false
	case code >= 200 && code < 300, code >= 500:
		return !jsonRPCMediaType(mt)
	}
	return false
}

// UnreadableAnswerError is the error (HTTP 502) that replaces an
// unreadable answer of the upstream of server alias.
func UnreadableAnswerError(alias string, code int, contentType string) *Error {
	return &Error{Status: http.StatusBadGateway, Code: CodeInternalError,
		Message: fmt.Sprintf("upstream MCP server %q answered HTTP %d with %s, not JSON-RPC", alias, code, printable(MediaType(contentType)))}
}

// MediaType is the media type of a Content-Type value, lower-case ("" for
// none or an unreadable one).
func MediaType(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt
}

// jsonRPCMediaType reports whether an answer of media type mt can carry
// JSON-RPC: JSON, or an event stream of JSON messages.
func jsonRPCMediaType(mt string) bool {
	return mt == "application/json" || mt == "text/event-stream" || strings.HasSuffix(mt, "+json")
}

// printable is an upstream-chosen value fit for an error message: short,
// visible ASCII.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
