package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	mcpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/mcp/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Scenario (d), plain Envoy with its own MCP filter: what a user could run
// instead of this gateway. Envoy's envoy.filters.http.mcp parses each
// POSTed JSON-RPC message into dynamic metadata (namespace
// envoy.filters.http.mcp: method, id, params) and clears the route cache,
// so routes can match on the method; nothing decides anything, nothing is
// prefixed, no session is mapped. The bootstrap is the gateway's own
// without ext_proc (envoy.Params.NoExtProc), changed here and nowhere
// else (it is a benchmark, not a configuration we ship):
//
//   - the mcp filter ahead of the router, max_request_body_size raised to
//     the gateway's body limit (its default is 8 KiB);
//   - the routes: the ready path, then tools/call matched on the filter's
//     metadata, then everything else (initialize, notifications, DELETE),
//     both to the one upstream's cluster with the gateway's own route
//     settings (timeouts, host rewrite, body limit). The tools/call route
//     adds response headers made from the metadata, which the bench checks
//     once before measuring: proof that calls went through the filter and
//     were routed on what it parsed.

const (
	mcpFilterName      = "envoy.filters.http.mcp"
	mcpMethodHeader    = "x-bench-mcp-method"
	mcpToolHeader      = "x-bench-mcp-tool"
	mcpToolsCallRoute  = "bench:mcp_tools_call"
	mcpOtherRouteName  = "bench:mcp_other"
	mcpFilterStatsHint = "routed on envoy.filters.http.mcp metadata"
)

// mcpFilterBootstrap turns the NoExtProc bootstrap b into scenario (d)'s.
func mcpFilterBootstrap(b *bootstrapv3.Bootstrap, up *upstreams.Upstream, maxBody int) error {
	listeners := b.GetStaticResources().GetListeners()
	if len(listeners) != 1 || len(listeners[0].GetFilterChains()) != 1 || len(listeners[0].GetFilterChains()[0].GetFilters()) != 1 {
		return fmt.Errorf("mcp filter bootstrap: want one listener with one filter chain and one network filter")
	}
	nf := listeners[0].GetFilterChains()[0].GetFilters()[0]
	hcm := &hcmv3.HttpConnectionManager{}
	if err := nf.GetTypedConfig().UnmarshalTo(hcm); err != nil {
		return fmt.Errorf("mcp filter bootstrap: %w", err)
	}

	filter, err := anypb.New(&mcpv3.Mcp{
		TrafficMode:        mcpv3.Mcp_PASS_THROUGH,
		ClearRouteCache:    true,
		MaxRequestBodySize: wrapperspb.UInt32(uint32(maxBody)),
	})
	if err != nil {
		return err
	}
	filters := hcm.GetHttpFilters()
	n := len(filters)
	if n == 0 || filters[n-1].GetName() != "envoy.filters.http.router" {
		return fmt.Errorf("mcp filter bootstrap: the last HTTP filter is not the router")
	}
	mcp := &hcmv3.HttpFilter{Name: mcpFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: filter}}
	hcm.HttpFilters = append(filters[:n-1:n-1], mcp, filters[n-1])

	vhosts := hcm.GetRouteConfig().GetVirtualHosts()
	if len(vhosts) != 1 {
		return fmt.Errorf("mcp filter bootstrap: want one virtual host")
	}
	var ready, upstream *routev3.Route
	for _, r := range vhosts[0].GetRoutes() {
		switch r.GetName() {
		case "ready":
			ready = r
		case "upstream:" + up.Alias:
			upstream = r
		}
	}
	if ready == nil || upstream == nil {
		return fmt.Errorf("mcp filter bootstrap: no ready route or no route for %s", up.Alias)
	}
	toolsCall := proto.Clone(upstream).(*routev3.Route)
	toolsCall.Name = mcpToolsCallRoute
	toolsCall.Match = &routev3.RouteMatch{
		PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
		DynamicMetadata: []*matcherv3.MetadataMatcher{{
			Filter: mcpFilterName,
			Path:   []*matcherv3.MetadataMatcher_PathSegment{{Segment: &matcherv3.MetadataMatcher_PathSegment_Key{Key: "method"}}},
			Value: &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_StringMatch{
				StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "tools/call"}},
			}},
		}},
	}
	toolsCall.ResponseHeadersToAdd = []*corev3.HeaderValueOption{
		{Header: &corev3.HeaderValue{Key: mcpMethodHeader, Value: "%DYNAMIC_METADATA(" + mcpFilterName + ":method)%"}},
		{Header: &corev3.HeaderValue{Key: mcpToolHeader, Value: "%DYNAMIC_METADATA(" + mcpFilterName + ":params:name)%"}},
	}
	other := proto.Clone(upstream).(*routev3.Route)
	other.Name = mcpOtherRouteName
	other.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	vhosts[0].Routes = []*routev3.Route{ready, toolsCall, other}

	if err := hcm.ValidateAll(); err != nil {
		return fmt.Errorf("mcp filter bootstrap: %w", err)
	}
	a, err := anypb.New(hcm)
	if err != nil {
		return err
	}
	nf.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: a}
	return nil
}

// checkMCPFilter makes one session by hand (initialize, initialized, one
// tools/call, DELETE) and requires the tools/call answer to carry the
// headers the metadata route adds: the filter parsed the call and the
// route matched on what it parsed.
func checkMCPFilter(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c := rawSession{endpoint: endpoint, protocol: "2025-11-25", hc: http.DefaultClient}
	if _, err := c.initialize(ctx); err != nil {
		return fmt.Errorf("%s: %w", mcpFilterStatsHint, err)
	}
	defer c.close(context.WithoutCancel(ctx))
	resp, _, err := c.post(ctx, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
		"params": map[string]any{"name": "echo", "arguments": map[string]any{"text": echoText}}})
	if err != nil {
		return fmt.Errorf("%s: tools/call: %w", mcpFilterStatsHint, err)
	}
	if m, t := resp.Header.Get(mcpMethodHeader), resp.Header.Get(mcpToolHeader); m != "tools/call" || t != "echo" {
		return fmt.Errorf("%s: tools/call answered with %s %q and %s %q, want tools/call and echo: the mcp filter did not parse it or the route did not match",
			mcpFilterStatsHint, mcpMethodHeader, m, mcpToolHeader, t)
	}
	return nil
}

// rawSession speaks Streamable HTTP by hand: a few requests whose
// answers the go-sdk client would not show (headers), and many sessions
// that cost the client nothing to keep.
type rawSession struct {
	endpoint string
	protocol string
	header   http.Header // added to every request (a key)
	hc       *http.Client
	session  string
}

// post sends one JSON-RPC message; for a request (with an id) it returns
// the answer's JSON-RPC message, whether sent as JSON or as one SSE event.
func (s *rawSession) post(ctx context.Context, msg map[string]any) (*http.Response, json.RawMessage, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	setMCPHeaders(req.Header, s.protocol, s.session)
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return resp, nil, fmt.Errorf("%v: HTTP %d: %.200s", msg["method"], resp.StatusCode, data)
	}
	if _, isRequest := msg["id"]; !isRequest {
		return resp, nil, nil
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		i := bytes.Index(data, []byte("data: "))
		if i < 0 {
			return resp, nil, fmt.Errorf("%v: no data in event stream %.200q", msg["method"], data)
		}
		data = data[i+len("data: "):]
		if j := bytes.IndexByte(data, '\n'); j >= 0 {
			data = data[:j]
		}
	}
	var m struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return resp, nil, fmt.Errorf("%v: %w", msg["method"], err)
	}
	if m.Error != nil {
		return resp, nil, fmt.Errorf("%v: JSON-RPC error %d %s", msg["method"], m.Error.Code, m.Error.Message)
	}
	return resp, m.Result, nil
}

// initialize opens the session: initialize, then notifications/initialized.
func (s *rawSession) initialize(ctx context.Context) (json.RawMessage, error) {
	resp, res, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"protocolVersion": s.protocol,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "mcpgw-bench", "version": "1"},
	}})
	if err != nil {
		return nil, err
	}
	s.session = resp.Header.Get("Mcp-Session-Id")
	if _, _, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); err != nil {
		return nil, err
	}
	return res, nil
}

// close ends the session (DELETE); errors are ignored, as a client would.
func (s *rawSession) close(ctx context.Context) {
	if s.session == "" {
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.endpoint, nil)
	if err != nil {
		return
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	req.Header.Set("Mcp-Session-Id", s.session)
	req.Header.Set("Mcp-Protocol-Version", s.protocol)
	if resp, err := s.hc.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
