package demo

import (
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Handler serves a new demo server over Streamable HTTP on every path.
// A stateless handler issues no session ids and answers GET and DELETE
// with 405.
func Handler(stateless bool) http.Handler {
	s := NewServer()
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, &mcp.StreamableHTTPOptions{
		Stateless: stateless,
		// The demo server sits behind Envoy, which keeps the client's Host
		// header; go-sdk's DNS-rebinding check would answer 403 to every
		// request that reaches a loopback listener with a non-loopback Host.
		// The gateway in front is where Host and Origin are checked.
		DisableLocalhostProtection: true,
	})
}
