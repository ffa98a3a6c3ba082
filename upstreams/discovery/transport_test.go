package discovery

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams"
)

func TestNewTransport(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1:1/mcp")
	tests := []struct {
		up      *upstreams.Upstream
		want    string
		wantErr bool
	}{
		{&upstreams.Upstream{Alias: "h", Transport: upstreams.TransportHTTP, URL: u}, "*mcp.StreamableClientTransport", false},
		{&upstreams.Upstream{Alias: "s", Transport: upstreams.TransportSSE, URL: u}, "*mcp.SSEClientTransport", false},
		{&upstreams.Upstream{Alias: "x", Transport: upstreams.TransportStdio}, "", true},
		{&upstreams.Upstream{Alias: "n", Transport: upstreams.TransportHTTP}, "", true},
	}
	for _, tt := range tests {
		tr, err := NewTransport(tt.up, http.DefaultClient)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", tt.up.Alias, err, tt.wantErr)
			continue
		}
		if err == nil {
			if got := fmt.Sprintf("%T", tr); got != tt.want {
				t.Errorf("%s: transport %s, want %s", tt.up.Alias, got, tt.want)
			}
		}
	}
}
