package aggregate

import (
	"net/http"
	"strings"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/adapter"
)

// withAdapters serves the adapter endpoints (upstreams.AdapterPath) from
// set and every other path from h. A nil set leaves h alone; an empty one
// serves adapters Set.Update adds later.
func withAdapters(set *adapter.Set, h http.Handler) http.Handler {
	if set == nil {
		return h
	}
	ah := set.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, upstreams.AdapterPathPrefix) {
			ah.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
