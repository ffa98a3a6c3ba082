package envoy

import (
	"regexp"
	"strings"
	"testing"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// TestDirectListRoutes: with a list token, the direct route (on what the
// Lua filter decided, to the sidecar, ext_proc off, the token set) and
// the list candidate route (the catch-all's action, the Lua filter on in
// list mode) come ahead of the upstream routes; without one, neither.
func TestDirectListRoutes(t *testing.T) {
	names := func(p Params) []string {
		rc, err := RouteConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
			out = append(out, r.GetName())
		}
		return out
	}
	p := baseParams(t)
	p.FastPath = &FastPath{}
	if got := names(p); len(got) != 4 {
		t.Fatalf("without a list token: routes %v, want ready, 2 upstreams, catch-all", got)
	}
	p.FastPath.ListToken = "tok"
	if got := names(p); len(got) != 6 || got[1] != "direct_list" || got[2] != "direct_list_candidate" {
		t.Fatalf("with a list token: routes %v", got)
	}
	rc, err := RouteConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	routes := rc.GetVirtualHosts()[0].GetRoutes()
	direct, candidate := routes[1], routes[2]

	if ra := direct.GetRoute(); ra.GetCluster() != wellknown.SidecarCluster || ra.GetTimeout().AsDuration() != 0 {
		t.Errorf("direct route action %v", ra)
	}
	dm := direct.GetMatch().GetDynamicMetadata()
	if len(dm) != 1 || dm[0].GetFilter() != wellknown.MetadataNamespace || dm[0].GetValue().GetStringMatch().GetExact() != DirectListDecidedBy {
		t.Errorf("direct route matches %v", direct.GetMatch())
	}
	add := direct.GetRequestHeadersToAdd()
	if len(add) != 1 || add[0].GetHeader().GetKey() != DirectListHeader || add[0].GetHeader().GetValue() != "tok" {
		t.Errorf("direct route adds %v", add)
	}
	for _, h := range direct.GetRequestHeadersToRemove() {
		if h == DirectListHeader {
			t.Error("the direct route removes the header it sets")
		}
	}
	var off extprocv3.ExtProcPerRoute
	if err := direct.GetTypedPerFilterConfig()[wellknown.ExtProcFilterName].UnmarshalTo(&off); err != nil || !off.GetDisabled() {
		t.Errorf("ext_proc on the direct route: %v %v", &off, err)
	}
	if direct.GetTypedPerFilterConfig()[fastPathFilterName] == nil {
		t.Error("the Lua filter is off on the direct route (it must see the answer)")
	}

	if candidate.GetRoute().GetClusterHeader() != wellknown.RouteHeader || candidate.GetTypedPerFilterConfig()[fastPathFilterName] == nil {
		t.Errorf("candidate route %v", candidate)
	}
	if m := candidate.GetMetadata().GetFilterMetadata()[fastPathFilterName].GetFields()["mode"].GetStringValue(); m != "list" {
		t.Errorf("candidate route mode %q", m)
	}
	var method *regexp.Regexp
	for _, h := range candidate.GetMatch().GetHeaders() {
		switch h.GetName() {
		case "mcp-method":
			method = regexp.MustCompile("^(?:" + h.GetStringMatch().GetSafeRegex().GetRegex() + ")$")
			if !h.GetTreatMissingHeaderAsEmpty() {
				t.Error("a request without Mcp-Method does not match the candidate route")
			}
		case "content-length":
			if r := h.GetRangeMatch(); r.GetStart() != 0 || r.GetEnd() != maxListBody+1 {
				t.Errorf("content-length range %v", r)
			}
		}
	}
	if method == nil {
		t.Fatal("no Mcp-Method matcher")
	}
	for v, want := range map[string]bool{"": true, "tools/list": true, "prompts/list": true, "resources/list": true,
		"resources/templates/list": true, "tools/call": false, "initialize": false, "TOOLS/LIST": false, "tools/listx": false} {
		if method.MatchString(v) != want {
			t.Errorf("Mcp-Method %q matches %v, want %v", v, !want, want)
		}
	}
}

// TestAggregateCandidateRoute: with grants, /mcp gets a candidate route
// whose metadata names every server (to split names as the registry
// does), and the paths and grants of the servers Envoy decides for only.
func TestAggregateCandidateRoute(t *testing.T) {
	p := baseParams(t)
	d := strings.Repeat("ab", 32)
	p.FastPath = &FastPath{KeyHeader: "x-litellm-api-key", Separator: "-", ValidUntil: time.Unix(2_000_000_000, 0),
		Servers: []FastPathServer{{Alias: "wiki", Grants: map[string]FastPathGrant{d: {KeyAlias: "k", Tools: []string{"read"}}}}}}
	rc, err := RouteConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	var agg *routev3.Route
	for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
		if r.GetName() == "fast_path_candidate:"+AggregateEndpoint {
			agg = r
		}
	}
	if agg == nil || agg.GetMatch().GetPath() != AggregateEndpoint {
		t.Fatalf("no /mcp candidate route: %v", agg)
	}
	f := agg.GetMetadata().GetFilterMetadata()[fastPathFilterName].GetFields()
	if f["mode"].GetStringValue() != "aggregate" || f["separator"].GetStringValue() != "-" {
		t.Errorf("mode %v separator %v", f["mode"], f["separator"])
	}
	for _, k := range []string{"a:github", "a:wiki", "p:wiki", "d:" + d, "k:" + d + ":wiki"} {
		if f[k] == nil {
			t.Errorf("no %s in the /mcp metadata", k)
		}
	}
	for _, k := range []string{"p:github", "k:" + d + ":github", "k:" + d} {
		if f[k] != nil {
			t.Errorf("%s in the /mcp metadata: github has no grants", k)
		}
	}
	if got := f["k:"+d+":wiki"].GetStructValue().GetFields()["tools"].GetStructValue().GetFields()["read"]; !got.GetBoolValue() {
		t.Errorf("the grant's tools: %v", f["k:"+d+":wiki"])
	}
	// No grants, no /mcp candidate.
	p.FastPath.Servers = nil
	if rc, err = RouteConfig(p); err != nil {
		t.Fatal(err)
	}
	for _, r := range rc.GetVirtualHosts()[0].GetRoutes() {
		if strings.HasPrefix(r.GetName(), "fast_path_candidate:") {
			t.Errorf("route %s without grants", r.GetName())
		}
	}
}
