package aggregate

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/rpc"
)

// A tools/list page is the sidecar's largest answer and, with clients that
// list before every turn, one of its most frequent. go-sdk encodes a
// result twice (the result, then the JSON-RPC message, each pass
// compacting the whole page): for a 500-tool page that was most of the
// sidecar's time. serveToolsPage answers a plain tools/list POST itself,
// with the bytes go-sdk would write, from pages encoded once per caller's
// filtered list (toolLists) and reused until that list is stale.
// Anything it does not recognise exactly is left to go-sdk;
// TestToolsPageIsWhatGoSDKWrites compares the two answers byte for byte.

// serveToolsPage answers r (a POST whose body has been read) when it is a
// tools/list this fast path serves, and reports whether it did; when it
// returns false it has written nothing.
func (s *Server) serveToolsPage(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if s.goSDKLists {
		return false
	}
	h := r.Header
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	if !acceptsJSONAndStream(h.Values("Accept")) {
		return false
	}
	version := h.Get("Mcp-Protocol-Version")
	if version == "" || !rpc.KnownProtocolVersion(version) {
		return false
	}
	// A 2026-07-28 request carries its version, client and capabilities
	// in params._meta, which go-sdk checks, and its result names the
	// server and says it is complete (modernCursor).
	modern := version >= modernVersion
	if modern && (version != modernVersion || len(h.Values("Mcp-Method")) != 1 || h.Get("Mcp-Method") != "tools/list") {
		return false
	}
	msg, batch, perr := rpc.Parse(body)
	if perr != nil || batch || msg.Kind != rpc.KindRequest || msg.Method != "tools/list" {
		return false
	}
	id, ok := plainID(msg.ID)
	if !ok {
		return false
	}
	var cursor string
	if modern {
		cursor, ok = modernCursor(msg.Params, version)
	} else {
		cursor, ok = onlyCursor(msg.Params)
	}
	if !ok {
		return false
	}
	start := time.Now()
	c, err := s.callerFrom(h)
	if err != nil {
		return false
	}
	sc, err := s.reg().Resolve(h.Get(pathHeader), lookup(h))
	if err != nil {
		return false
	}
	list := s.visibleList(c, s.narrowFor(c, sc), start)
	offset, err := decodeCursor(cursor, len(list.tools))
	if err != nil {
		return false
	}
	page, err := list.page(offset, s.pageSize)
	if err != nil {
		return false
	}
	// As go-sdk's streamable transport answers a POST: one SSE event.
	w.Header().Set("Cache-Control", "no-cache, no-transform")
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	out := make([]byte, 0, len(page)+len(id)+64)
	out = append(out, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":"...)
	out = append(out, id...)
	out = append(out, ",\"result\":"...)
	if modern {
		// As go-sdk completes a 2026-07-28 result: resultType and the
		// server's identity in _meta ahead of the page's own members
		// (ListToolsResult's field order; the page has no _meta).
		out = append(out, `{"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":`...)
		out = append(out, s.serverInfo...)
		out = append(out, "},"...)
		page = page[1:]
	}
	out = append(out, page...)
	out = append(out, "}\n\n"...)
	w.Write(out)
	s.toolsPages.Add(1)
	return true
}

// page is the encoded result of the page of l that starts at offset,
// encoded on first use.
func (l *toolList) page(offset, size int) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.pages[offset]; ok {
		return p, nil
	}
	end := min(offset+size, len(l.tools))
	res := &mcp.ListToolsResult{Tools: l.tools[offset:end], Cacheable: listCacheable}
	if res.Tools == nil {
		res.Tools = []*mcp.Tool{}
	}
	if end < len(l.tools) {
		res.NextCursor = encodeCursor(end)
	}
	// As go-sdk encodes: no HTML escaping.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, err
	}
	p := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if l.pages == nil {
		l.pages = make(map[int][]byte)
	}
	l.pages[offset] = p
	return p, nil
}

// acceptsJSONAndStream is go-sdk's check of a POST's Accept header.
func acceptsJSONAndStream(values []string) bool {
	var jsonOK, streamOK bool
	for _, v := range values {
		for raw := range strings.SplitSeq(v, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(raw), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}

// plainID returns a request id go-sdk writes back byte for byte: an
// integer of up to 15 digits, or a string of letters, digits and -_.:
// (anything else, go-sdk may write differently, is left to it).
func plainID(raw json.RawMessage) ([]byte, bool) {
	id := []byte(raw)
	if len(id) == 0 {
		return nil, false
	}
	if id[0] == '"' {
		if len(id) < 2 || id[len(id)-1] != '"' || len(id) > 130 {
			return nil, false
		}
		for _, b := range id[1 : len(id)-1] {
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.' || b == ':') {
				return nil, false
			}
		}
		return id, true
	}
	digits := id
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || (digits[0] == '0' && len(id) > 1) {
		return nil, false
	}
	for _, b := range digits {
		if b < '0' || b > '9' {
			return nil, false
		}
	}
	return id, true
}

// onlyCursor reads tools/list params that hold at most a string cursor
// (no _meta, which go-sdk would hand to the request's context).
func onlyCursor(params json.RawMessage) (string, bool) {
	params = bytes.TrimSpace(params)
	if len(params) == 0 {
		return "", true
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil {
		return "", false
	}
	var cursor string
	for k, v := range p {
		if k != "cursor" {
			return "", false
		}
		if json.Unmarshal(v, &cursor) != nil {
			return "", false
		}
	}
	return cursor, true
}

// modernVersion is the first protocol version whose requests carry their
// version and the client's in params._meta (SEP-2575).
const modernVersion = "2026-07-28"

// Members of a 2026-07-28 request's _meta (SEP-2575).
const (
	metaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
)

// clientCapabilities is the shape go-sdk reads a 2026-07-28 client's
// capabilities into (its clientCapabilitiesV2): what it cannot read
// there, it refuses, and so is left to it.
type clientCapabilities struct {
	mcp.ClientCapabilities
	//lint:ignore SA1019 roots: a 2026-07-28 client may still declare it, and go-sdk still reads it
	Roots *mcp.RootCapabilities `json:"roots,omitempty"`
}

// modernCursor reads 2026-07-28 tools/list params that hold a string
// cursor or none and a _meta of exactly the protocol version (version),
// the client's capabilities and, optionally, its identity, each of which
// go-sdk accepts. Anything else (another _meta member, a log level) is
// left to go-sdk.
func modernCursor(params json.RawMessage, version string) (string, bool) {
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil || p == nil {
		return "", false
	}
	var cursor string
	var meta map[string]json.RawMessage
	for k, v := range p {
		switch k {
		case "cursor":
			if json.Unmarshal(v, &cursor) != nil {
				return "", false
			}
		case "_meta":
			if json.Unmarshal(v, &meta) != nil {
				return "", false
			}
		default:
			return "", false
		}
	}
	var got string
	if json.Unmarshal(meta[metaProtocolVersion], &got) != nil || got != version {
		return "", false
	}
	var caps *clientCapabilities
	if json.Unmarshal(meta[metaClientCapabilities], &caps) != nil || caps == nil {
		return "", false
	}
	for k, v := range meta {
		switch k {
		case metaProtocolVersion, metaClientCapabilities:
		case metaClientInfo:
			var info *mcp.Implementation
			if json.Unmarshal(v, &info) != nil || info == nil {
				return "", false
			}
		default:
			return "", false
		}
	}
	return cursor, true
}

// encodeServerInfo encodes impl as go-sdk does (no HTML escaping).
func encodeServerInfo(impl *mcp.Implementation) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(impl) // a struct of strings: cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
