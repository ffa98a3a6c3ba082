package aggregate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/bridge"
	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/mcprest"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
)

// LiteLLM's REST facade for callers that do not speak MCP (docs/bridge.md):
//
//   - GET /mcp-rest/tools/list lists, per server the caller may use, the
//     tools it may call, from the same catalog and policy as tools/list,
//     with an outcome per server.
//   - POST /mcp-rest/tools/call re-sends the call to the gateway's own MCP
//     endpoint through Envoy with the caller's headers (as the legacy SSE
//     bridge does), so keys, policy, credentials and error messages are
//     exactly those of an MCP client's call.
//   - POST /mcp-rest/test/connection opens a session to a configured server
//     with its configured credentials.
//
// The router has authenticated the request and refused a connection test
// to a restricted key before it gets here; the sidecar checks both again.

const (
	maxRESTBody          = 4 << 20
	testConnectionWithin = 30 * time.Second // LiteLLM's MCP_TOOL_LISTING_TIMEOUT
	// restProtocolVersion is what the facade's calls speak to the gateway:
	// session-less calls of the last session-era version.
	restProtocolVersion = "2025-11-25"
)

type restFacade struct {
	s          *Server
	gatewayURL string
	client     *http.Client
}

// newRESTFacade serves s's upstreams, the current ones on every request.
func newRESTFacade(s *Server, gatewayURL string) *restFacade {
	base, client := gatewayClient(gatewayURL)
	return &restFacade{s: s, gatewayURL: base, client: client}
}

// withREST serves the facade's paths and passes everything else on.
func withREST(f *restFacade, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !mcprest.Is(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		f.ServeHTTP(w, r)
	})
}

func (f *restFacade) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, ok := mcprest.Method(r.URL.Path)
	switch {
	case !ok:
		writeREST(w, http.StatusNotFound, mcprest.Plain(http.StatusNotFound))
		return
	case r.Method != method:
		w.Header().Set("Allow", method)
		writeREST(w, http.StatusMethodNotAllowed, mcprest.Plain(http.StatusMethodNotAllowed))
		return
	}
	c, err := f.s.callerFrom(r.Header)
	if err != nil {
		writeREST(w, http.StatusUnauthorized, mcprest.AuthError(err.Error()))
		return
	}
	switch r.URL.Path {
	case mcprest.ToolsList:
		f.list(w, r, c)
	case mcprest.ToolsCall:
		f.call(w, r)
	case mcprest.TestConnection:
		f.testConnection(w, r, c)
	}
}

func writeREST(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeREST(w, http.StatusInternalServerError, mcprest.Detail("internal_server_error", "could not encode the answer"))
		return
	}
	writeREST(w, status, body)
}

// restTool is a tool as LiteLLM's REST listing shows it: the MCP tool, its
// server's own name, and the server in mcp_info.
type restTool struct {
	*mcp.Tool
	MCPInfo restServerInfo `json:"mcp_info"`
}

type restServerInfo struct {
	ServerName string `json:"server_name"`
	ServerID   string `json:"server_id"`
	Alias      string `json:"alias"`
}

// list answers GET /mcp-rest/tools/list[?server_id=|mcp_server_name=][&format=openai].
func (f *restFacade) list(w http.ResponseWriter, r *http.Request, c *caller) {
	start := time.Now()
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "openai" {
		writeREST(w, http.StatusBadRequest, mcprest.Detail("invalid_parameter", `format must be "openai" or absent`))
		return
	}
	server := q.Get("server_id")
	if server == "" {
		server = q.Get("mcp_server_name")
	}
	visible := func(alias string) bool {
		if f.s.authz == nil {
			return true
		}
		sc := namespace.Scope{Servers: []string{alias}, Single: alias}
		return f.s.authz.Visible(c.request("", sc, alias, policy.KindNone, ""))
	}
	var servers []string
	if server != "" {
		// Unknown and forbidden alike, so a key cannot probe for servers.
		if !f.s.reg().Has(server) || !visible(server) {
			writeREST(w, http.StatusForbidden, mcprest.Detail("access_denied", "The key is not allowed to access server "+server))
			return
		}
		servers = []string{server}
	} else {
		for _, alias := range f.s.reg().Aliases() {
			if visible(alias) {
				servers = append(servers, alias)
			}
		}
		if len(servers) == 0 {
			writeREST(w, http.StatusForbidden, mcprest.Detail("access_denied", "The key is not allowed to access any MCP servers."))
			return
		}
	}

	listings := f.s.disc.Listings()
	var mcpTools []*mcp.Tool // prefixed, for format=openai
	var tools []restTool
	outcomes := map[string]any{}
	var failed []string
	for _, alias := range servers {
		if listings[alias] == nil {
			// Discovery finds it unusable: down, too slow, or answering
			// nonsense (an empty list would pass for a server without tools).
			outcomes[alias] = map[string]string{"status": "unreachable"}
			failed = append(failed, alias+": unreachable")
			continue
		}
		sc := namespace.Scope{Servers: []string{alias}, Single: alias}
		if format == "openai" {
			sc = namespace.Scope{Servers: []string{alias}, Prefixed: true}
		}
		c.path = "/" + alias + "/mcp" // the policy sees the server's own endpoint
		listed := f.s.visibleToolsFor(c, sc, start)
		outcomes[alias] = map[string]any{"status": "ok", "tool_count": len(listed)}
		for _, t := range listed {
			mcpTools = append(mcpTools, t)
			tools = append(tools, restTool{Tool: t, MCPInfo: restServerInfo{ServerName: alias, ServerID: alias, Alias: alias}})
		}
	}
	if server != "" && len(failed) > 0 {
		writeREST(w, http.StatusBadGateway, mcprest.Detail("unreachable", "Failed to list tools from server "+server))
		return
	}
	out := map[string]any{"error": nil, "message": "Successfully retrieved tools"}
	if format == "openai" {
		out["tools"] = bridge.NewToolset(nil, mcpTools).ChatCompletionsTools()
	} else {
		out["tools"] = tools
		if tools == nil {
			out["tools"] = []restTool{}
		}
	}
	if server == "" {
		out["server_outcomes"] = outcomes
		if len(failed) > 0 && len(mcpTools) == 0 {
			out["error"] = "partial_failure"
			out["message"] = "Failed to get tools from servers: " + strings.Join(failed, "; ")
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// call answers POST /mcp-rest/tools/call {"server_id", "name", "arguments"}
// by re-sending the call to the gateway: to /<server_id>/mcp, or, without
// server_id, to /mcp with a prefixed name.
func (f *restFacade) call(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ServerID  string          `json:"server_id"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody+1))
	if err != nil || len(body) > maxRESTBody || json.Unmarshal(body, &in) != nil {
		writeREST(w, http.StatusBadRequest, mcprest.Detail("invalid_request", "the body must be a JSON object: {\"server_id\", \"name\", \"arguments\"}"))
		return
	}
	if in.Name == "" {
		writeREST(w, http.StatusBadRequest, mcprest.Detail("missing_parameter", "name is required in request body"))
		return
	}
	args := bytes.TrimSpace(in.Arguments)
	switch {
	case len(args) == 0 || string(args) == "null":
		args = []byte("{}")
	case args[0] != '{':
		writeREST(w, http.StatusBadRequest, mcprest.Detail("invalid_parameter", "arguments must be a JSON object"))
		return
	}
	if f.gatewayURL == "" {
		writeREST(w, http.StatusServiceUnavailable, mcprest.Detail("unavailable", "tools/call needs the gateway's URL (mcpgw sidecar -gateway)"))
		return
	}
	path := namespace.Endpoint
	if in.ServerID != "" {
		path = "/" + url.PathEscape(in.ServerID) + "/mcp"
	}
	rpcBody, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": in.Name, "arguments": json.RawMessage(args)}})
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, f.gatewayURL+path, bytes.NewReader(rpcBody))
	if err != nil {
		writeREST(w, http.StatusBadRequest, mcprest.Detail("invalid_parameter", "server_id is not a server name"))
		return
	}
	copyClientHeaders(req.Header, r.Header)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", restProtocolVersion)
	resp, err := f.client.Do(req)
	if err != nil {
		writeREST(w, http.StatusBadGateway, mcprest.Detail("unreachable", "the gateway could not be reached"))
		return
	}
	defer resp.Body.Close()
	msg, err := readRPCResponse(resp)
	if err != nil {
		writeREST(w, http.StatusBadGateway, mcprest.Detail("upstream_error", fmt.Sprintf("the gateway answered HTTP %d without a JSON-RPC response", resp.StatusCode)))
		return
	}
	if msg.Error != nil {
		writeREST(w, restStatus(resp.StatusCode, msg.Error.Code), mcprest.Detail("", msg.Error.Message))
		return
	}
	writeREST(w, http.StatusOK, msg.Result)
}

// rpcResponse is the one JSON-RPC response the facade waits for.
type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readRPCResponse reads the response to the facade's request (id 1) from
// a JSON body or an event stream (notifications before it are skipped).
func readRPCResponse(resp *http.Response) (*rpcResponse, error) {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	parse := func(data []byte) (*rpcResponse, bool) {
		var m rpcResponse
		if json.Unmarshal(data, &m) != nil || (m.Result == nil && m.Error == nil) {
			return nil, false
		}
		// An error the gateway answers before reading the request (a
		// refused endpoint) carries a null id.
		if id := string(m.ID); !(id == "1" || (m.Error != nil && (id == "" || id == "null"))) {
			return nil, false
		}
		return &m, true
	}
	if mt == "text/event-stream" {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), maxRESTBody)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				if m, ok := parse([]byte(strings.TrimSpace(data))); ok {
					return m, nil
				}
			}
		}
		return nil, errors.New("no response in the event stream")
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRESTBody))
	if err != nil {
		return nil, err
	}
	if m, ok := parse(data); ok {
		return m, nil
	}
	return nil, errors.New("not a JSON-RPC response")
}

// restStatus is the HTTP status of a REST answer carrying a JSON-RPC
// error: the gateway's when it was an HTTP error (401, 403, 404, 502…);
// an MCP protocol error on a 200 (an unknown tool, invalid params) is 400.
func restStatus(status, code int) int {
	switch {
	case status >= 400:
		return status
	case code == -32602 || code == -32600:
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

// testConnection answers POST /mcp-rest/test/connection: LiteLLM's body
// (NewMCPServerRequest) naming a configured server by server_id, alias or
// server_name. Servers come from the gateway's config: a url that is not
// the configured one, or a command, is refused rather than reached.
func (f *restFacade) testConnection(w http.ResponseWriter, r *http.Request, c *caller) {
	if !(c.p.Anonymous || c.p.Admin) {
		writeREST(w, http.StatusForbidden, mcprest.Detail("", mcprest.AdminOnlyMessage))
		return
	}
	var in struct {
		ServerID   string `json:"server_id"`
		Alias      string `json:"alias"`
		ServerName string `json:"server_name"`
		URL        string `json:"url"`
		Command    string `json:"command"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRESTBody+1))
	if err != nil || len(body) > maxRESTBody || json.Unmarshal(body, &in) != nil {
		writeREST(w, http.StatusBadRequest, mcprest.Detail("invalid_request", "the body must be a JSON object naming a configured server: {\"server_id\": \"<alias>\"}"))
		return
	}
	id := in.ServerID
	for _, alt := range []string{in.Alias, in.ServerName} {
		if id == "" {
			id = alt
		}
	}
	if id == "" {
		writeREST(w, http.StatusBadRequest, mcprest.Detail("missing_parameter",
			"server_id (or alias) is required in request body: the gateway tests the servers of its config"))
		return
	}
	up := f.s.set.Load().ups[id]
	if up == nil {
		writeREST(w, http.StatusNotFound, mcprest.Detail("server_not_found", fmt.Sprintf("MCP server '%s' was not found", id)))
		return
	}
	if in.Command != "" || (in.URL != "" && (up.Adapter != nil || up.URL == nil || in.URL != up.URL.String())) {
		writeREST(w, http.StatusBadRequest, mcprest.Detail("unsupported",
			fmt.Sprintf("url and command must be those of MCP server '%s' in the config: the gateway tests servers as configured", id)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), testConnectionWithin)
	defer cancel()
	if err := connectOnce(ctx, up); err != nil {
		msg := fmt.Sprintf("Failed to connect to MCP server '%s': %s", id, redactURLs(err.Error()))
		if ctx.Err() != nil && r.Context().Err() == nil {
			msg = fmt.Sprintf("Failed to connect to MCP server '%s': no answer within %s", id, testConnectionWithin)
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "error", "error": true, "message": msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// connectOnce opens a session to up with its configured credentials, as
// discovery does, and closes it.
func connectOnce(ctx context.Context, up *upstreams.Upstream) error {
	t, err := discovery.NewTransport(up, upstreams.HTTPClient(up))
	if err != nil {
		return err
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: Name + "-connection-test", Version: "1"}, nil).
		Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: discovery.ProtocolVersion})
	if err != nil {
		return err
	}
	return cs.Close()
}

// urlPattern finds URLs in error text: a configured URL may hold a secret
// in its query, and the answer goes to a client.
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"']+`)

func redactURLs(s string) string { return urlPattern.ReplaceAllString(s, "<url>") }
