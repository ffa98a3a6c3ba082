package telemetry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"

	"github.com/mcpgw/mcpgw/internal/metrics"
)

// Request is what an MCP request's span is made of (the OpenTelemetry
// MCP semantic conventions): its method, JSON-RPC id, the tool's or
// prompt's name, the resource URI, and params._meta.
type Request struct {
	Method string          `json:"method"`
	ID     json.RawMessage `json:"id"`
	Params struct {
		Name string                     `json:"name"`
		URI  string                     `json:"uri"`
		Meta map[string]json.RawMessage `json:"_meta"`
	} `json:"params"`
}

// ParseRequest reads what a span needs of one JSON-RPC request body; what
// does not parse is left empty (a batch, or not JSON-RPC). A body cut
// short (MCPHandler reads only its start) still gives the top-level
// members that come before the cut.
func ParseRequest(body []byte) Request {
	var r Request
	if json.Unmarshal(body, &r) == nil {
		return r
	}
	r = Request{}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return r
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return r
		}
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return r
		}
		switch tok {
		case "method":
			if json.Unmarshal(v, &r.Method) != nil {
				r.Method = ""
			}
		case "id":
			r.ID = v
		}
	}
	return r
}

// IsRequest reports whether the message is a request (a method and an
// id), the only kind whose params._meta carries trace context: a response
// has no params, a notification gets none.
func (r Request) IsRequest() bool { return r.Method != "" && requestIDString(r.ID) != "" }

// MetaCarrier is the trace context members of the request's
// params._meta.
func (r Request) MetaCarrier() propagation.MapCarrier {
	if len(r.Params.Meta) == 0 {
		return nil
	}
	c := propagation.MapCarrier{}
	for _, k := range []string{"traceparent", "tracestate", "baggage"} {
		var v string
		if json.Unmarshal(r.Params.Meta[k], &v) == nil && v != "" {
			c[k] = v
		}
	}
	return c
}

// maxNameBytes is MCP's longest tool or prompt name: a longer one (not a
// name any server has) does not go into a span's name.
const maxNameBytes = 128

// maxAttrBytes bounds an attribute taken from a request (names, URIs,
// ids): a client cannot make the gateway export megabytes per span.
const maxAttrBytes = 1024

// clip is s cut to maxAttrBytes, on a UTF-8 boundary.
func clip(s string) string {
	if len(s) <= maxAttrBytes {
		return s
	}
	s = s[:maxAttrBytes]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// SpanName is "{mcp.method.name} {target}": the tool's or prompt's name
// as the client called it, else the method alone; "other" for a method
// MCP does not define, "mcp" for a request whose method is not known.
func (r Request) SpanName() string {
	m := metrics.MethodLabel(r.Method)
	switch {
	case m == "":
		return "mcp"
	case (m == "tools/call" || m == "prompts/get") && r.Params.Name != "" && len(r.Params.Name) <= maxNameBytes:
		return m + " " + r.Params.Name
	}
	return m
}

// Attributes are the span attributes of the request and of its HTTP
// request's headers (header reads one by its lower-case name).
func (r Request) Attributes(header func(string) string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 14)
	attrs = append(attrs,
		attribute.String("network.transport", "tcp"),
		attribute.String("network.protocol.name", "http"))
	if r.Method != "" {
		attrs = append(attrs, attribute.String("mcp.method.name", clip(r.Method)))
	}
	if id := requestIDString(r.ID); id != "" {
		attrs = append(attrs, attribute.String("jsonrpc.request.id", clip(id)))
	}
	switch r.Method {
	case "tools/call":
		attrs = append(attrs, attribute.String("gen_ai.operation.name", "execute_tool"))
		if r.Params.Name != "" {
			attrs = append(attrs, attribute.String("gen_ai.tool.name", clip(r.Params.Name)))
		}
	case "prompts/get":
		if r.Params.Name != "" {
			attrs = append(attrs, attribute.String("gen_ai.prompt.name", clip(r.Params.Name)))
		}
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		if r.Params.URI != "" {
			attrs = append(attrs, attribute.String("mcp.resource.uri", clip(r.Params.URI)))
		}
	}
	if v := header("mcp-protocol-version"); v != "" {
		attrs = append(attrs, attribute.String("mcp.protocol.version", clip(v)))
	}
	if v := header("mcp-session-id"); v != "" {
		attrs = append(attrs, attribute.String("mcp.session.id", SessionDigest(v)))
	}
	authority := header(":authority")
	if authority == "" {
		authority = header("host")
	}
	if host, port, err := net.SplitHostPort(authority); err == nil {
		attrs = append(attrs, attribute.String("server.address", clip(host)))
		if n, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, attribute.Int("server.port", n))
		}
	} else if authority != "" {
		attrs = append(attrs, attribute.String("server.address", clip(authority)))
	}
	if v := header("x-request-id"); v != "" {
		attrs = append(attrs, attribute.String("mcpgw.request_id", clip(v)))
	}
	return attrs
}

// SessionDigest stands for a client session id in spans: the first 16
// hex digits of its SHA-256. A session's requests still join, and a trace
// store never holds an id a client presents.
func SessionDigest(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8])
}

// requestIDString is a JSON-RPC id as the conventions want it: a string's
// contents, a number's digits; "" for none or null.
func requestIDString(id json.RawMessage) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return s
	}
	if v := strings.TrimSpace(string(id)); v != "null" {
		return v
	}
	return ""
}
