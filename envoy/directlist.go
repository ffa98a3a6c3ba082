package envoy

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/mcpgw/mcpgw/envoy/fastpath"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Direct lists (docs/architecture.md, "Direct lists"): a list request
// (tools/list, prompts/list, resources/list, resources/templates/list)
// goes to the sidecar without an ext_proc round trip, and the sidecar
// runs ext_proc's decision on it itself, in process, with the same
// router (extproc.Server.DecideDirect). Lists are the sidecar's to
// answer anyway; what Envoy saves is three round trips to ext_proc, most
// of a list's time. Two routes carry it:
//
//   - the list candidate route matches, by its headers, a POST that may
//     be a list (small, no x-mcp-cluster, an Mcp-Method that is a list
//     method or none) and turns on the fast path's Lua filter in list
//     mode, which reads the body: one plain JSON-RPC request for a list
//     method (fastpath.lua isList). Its action is the catch-all's: a
//     request the filter leaves alone goes through ext_proc as it would
//     without direct lists.
//   - the direct route sends what the filter marked (decided_by
//     "sidecar") to the sidecar with ext_proc off, and adds the
//     DirectListHeader with the token the sidecar knows: the sidecar
//     decides every request that carries it, and no other route lets a
//     client's copy through.

// DirectListHeader is the request header the direct route sets to the
// gateway's direct-list token (FastPath.ListToken): the sidecar runs the
// router's decision on every request that carries the token.
const DirectListHeader = wellknown.DirectListHeader

// DirectListDecidedBy is decided_by on the lists the sidecar decided
// (the access log's decided_by field).
const DirectListDecidedBy = wellknown.DirectListDecidedBy

// maxListBody is the largest list request the list candidate route
// takes: a list request is an id, a cursor and _meta. Larger ones take
// the full path.
const maxListBody = 4096

// directListRoutes are the direct and list candidate routes, or nil
// without a list token. The direct route must come ahead of every
// candidate route: a list marked on the fast path's candidate route (an
// older client's, with no Mcp-Method to keep it off) would match that
// route again.
func directListRoutes(p Params) (direct, candidate *routev3.Route) {
	if p.FastPath == nil || p.FastPath.ListToken == "" {
		return nil, nil
	}
	catchAll := catchAllRoute(p)
	direct = &routev3.Route{
		Name: "direct_list",
		Match: &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
			DynamicMetadata: []*matcherv3.MetadataMatcher{{
				Filter: wellknown.MetadataNamespace,
				Path:   []*matcherv3.MetadataMatcher_PathSegment{{Segment: &matcherv3.MetadataMatcher_PathSegment_Key{Key: "decided_by"}}},
				Value:  &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_StringMatch{StringMatch: exact(DirectListDecidedBy)}},
			}},
		},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: wellknown.SidecarCluster},
			// As the catch-all: a list may be answered as an event stream.
			Timeout:              durationpb.New(0),
			IdleTimeout:          catchAll.GetRoute().GetIdleTimeout(),
			HostRewriteSpecifier: catchAll.GetRoute().GetHostRewriteSpecifier(),
		}},
		RequestBodyBufferLimit: catchAll.RequestBodyBufferLimit,
		// Not DirectListHeader: this route sets it.
		RequestHeadersToRemove: []string{wellknown.RouteHeader},
		RequestHeadersToAdd: []*corev3.HeaderValueOption{{
			Header:       &corev3.HeaderValue{Key: DirectListHeader, Value: p.FastPath.ListToken},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		}},
		TypedPerFilterConfig: map[string]*anypb.Any{wellknown.ExtProcFilterName: noExtProc()},
		StatPrefix:           "direct_list",
	}
	// The fast path's filter stays on for the answer: it moves what the
	// sidecar says for the access log into dynamic metadata.
	answerOn(p.FastPath, direct)
	candidate = &routev3.Route{
		Name: "direct_list_candidate",
		Match: &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
			Headers: []*routev3.HeaderMatcher{
				{Name: ":method", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: exact("POST")}},
				{Name: wellknown.RouteHeader, HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}, InvertMatch: true},
				{Name: "content-length", HeaderMatchSpecifier: &routev3.HeaderMatcher_RangeMatch{
					RangeMatch: &typev3.Int64Range{Start: 0, End: int64(min(maxListBody, p.MaxRequestBodyBytes)) + 1},
				}},
				// A list method, or no Mcp-Method (clients before
				// 2026-07-28 send none).
				{Name: "mcp-method", TreatMissingHeaderAsEmpty: true, HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
					StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{
						Regex: `((tools|prompts|resources|resources/templates)/list)?`,
					}}},
				}},
			},
		},
		Action:                 catchAll.Action,
		RequestBodyBufferLimit: catchAll.RequestBodyBufferLimit,
		RequestHeadersToRemove: catchAll.RequestHeadersToRemove,
	}
	// (A list configuration cannot fail to render.)
	_ = fastPathOn(p.FastPath, candidate, fastpath.RouteConfig{Mode: fastpath.ModeList})
	return direct, candidate
}
