package upstreams

import (
	"net/url"
	"testing"
)

func TestBindAdapters(t *testing.T) {
	plain := &Upstream{Alias: "gh", Transport: TransportHTTP, URL: &url.URL{Scheme: "https", Host: "x.example", Path: "/mcp"}}
	local := &Upstream{Alias: "memory", Transport: TransportStdio, Adapter: &Adapter{Kind: AdapterStdio, Command: "npx"}}
	pets := &Upstream{Alias: "pets", Transport: TransportHTTP, Adapter: &Adapter{Kind: AdapterOpenAPI, SpecPath: "p.yaml"}}
	legacy := &Upstream{Alias: "old", Transport: TransportSSE, URL: &url.URL{Scheme: "http", Host: "old:1", Path: "/sse"}}
	ups := []*Upstream{plain, local, pets, legacy}

	// Before binding, adapted servers have no endpoint Envoy could use.
	for _, tt := range []struct {
		up   *Upstream
		want bool
	}{{plain, true}, {local, false}, {pets, false}, {legacy, false}} {
		if got := tt.up.Routable(); got != tt.want {
			t.Errorf("%s: Routable = %v before binding", tt.up.Alias, got)
		}
	}
	bound, err := BindAdapters(ups, "127.0.0.1:9003")
	if err != nil {
		t.Fatal(err)
	}
	if bound[0] != plain || bound[3] != legacy {
		t.Error("servers without an adapter must come back unchanged")
	}
	for _, i := range []int{1, 2} {
		u := bound[i]
		if u == ups[i] || ups[i].URL != nil {
			t.Errorf("%s: the input was modified or not copied", u.Alias)
		}
		want := "http://127.0.0.1:9003/adapters/" + u.Alias + "/mcp"
		if u.URL.String() != want || !u.Routable() || u.Path() != AdapterPath(u.Alias) {
			t.Errorf("%s: URL %v, routable %v, path %q; want %s", u.Alias, u.URL, u.Routable(), u.Path(), want)
		}
		if host, port, _ := u.HostPort(); host != "127.0.0.1" || port != 9003 {
			t.Errorf("%s: HostPort %s %d", u.Alias, host, port)
		}
	}
	if _, err := BindAdapters(ups, "no-port"); err == nil {
		t.Error("a sidecar address without a port was accepted")
	}
}
