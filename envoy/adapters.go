package envoy

import "github.com/mcpgw/mcpgw/upstreams"

// skipCluster reports whether u gets no cluster: an adapted server whose
// sidecar endpoint is not bound yet, or a non-HTTP server without an
// adapter. Plain http servers always get one (and fail validation
// without a URL).
func skipCluster(u *upstreams.Upstream) bool {
	return !u.Routable() && (u.Adapter != nil || u.Transport != upstreams.TransportHTTP)
}
