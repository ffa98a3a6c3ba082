package envoy

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

func TestDefaults(t *testing.T) {
	b, err := Bootstrap(Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003"})
	if err != nil {
		t.Fatal(err)
	}
	lis := b.GetStaticResources().GetListeners()[0]
	if got := lis.GetAddress().GetSocketAddress(); got.GetAddress() != "0.0.0.0" || got.GetPortValue() != 4000 {
		t.Errorf("listener address = %v", got)
	}
	if got := lis.GetPerConnectionBufferLimitBytes().GetValue(); got != 1<<20 {
		t.Errorf("per_connection_buffer_limit_bytes = %d", got)
	}
	// Port 0: the kernel picks a free port when Envoy starts, so two
	// gateways never contend for a fixed admin port.
	if got := b.GetAdmin().GetAddress().GetSocketAddress(); got.GetAddress() != "127.0.0.1" || got.GetPortValue() != 0 {
		t.Errorf("admin address = %v", got)
	}
	// reuse_port would let a second Envoy bind the port silently.
	if got := lis.GetEnableReusePort(); got == nil || got.GetValue() {
		t.Errorf("enable_reuse_port = %v, want false", got)
	}
	hcm := hcmOf(t, b)
	if got := extProcOf(t, hcm).GetMessageTimeout().AsDuration(); got != 10*time.Second {
		t.Errorf("message_timeout = %v", got)
	}
	if got := fileLogOf(t, hcm).GetPath(); got != "/dev/stdout" {
		t.Errorf("access log path = %q", got)
	}
	if got := routeOf(t, hcm).GetRequestBodyBufferLimit().GetValue(); got != 1<<20 {
		t.Errorf("request_body_buffer_limit = %d", got)
	}
}

func TestNoAdmin(t *testing.T) {
	p := baseParams(t)
	p.AdminPort = NoAdmin
	p.AdminAddress = "not an ip" // ignored without admin
	b, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	if b.Admin != nil {
		t.Errorf("admin = %v, want none", b.Admin)
	}
}

func TestBadParams(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Params)
		field  string // must appear in the error
	}{
		{"no listen port", func(p *Params) { p.ListenPort = 0 }, "Params.ListenPort"},
		{"listen port too big", func(p *Params) { p.ListenPort = 70000 }, "Params.ListenPort"},
		{"listen address not an ip", func(p *Params) { p.ListenAddress = "localhost" }, "Params.ListenAddress"},
		{"admin address bad", func(p *Params) { p.AdminAddress = "127.0.0.999" }, "Params.AdminAddress"},
		{"admin port negative", func(p *Params) { p.AdminPort = -2 }, "Params.AdminPort"},
		{"admin port equals listen port", func(p *Params) { p.AdminPort = p.ListenPort }, "Params.AdminPort"},
		{"no ext_proc address", func(p *Params) { p.ExtProcAddress = "" }, "Params.ExtProcAddress"},
		{"ext_proc address without port", func(p *Params) { p.ExtProcAddress = "127.0.0.1" }, "Params.ExtProcAddress"},
		{"ext_proc port zero", func(p *Params) { p.ExtProcAddress = "127.0.0.1:0" }, "Params.ExtProcAddress"},
		{"sidecar address without host", func(p *Params) { p.SidecarAddress = ":9003" }, "Params.SidecarAddress"},
		{"replica list with a name", func(p *Params) { p.SidecarAddress = "127.0.0.1:9003,sidecar:9003" }, "Params.SidecarAddress"},
		{"replica list with an empty entry", func(p *Params) { p.ExtProcAddress = "127.0.0.1:9002," }, "Params.ExtProcAddress"},
		{"xds address without port", func(p *Params) { p.XDSAddress = "127.0.0.1" }, "Params.XDSAddress"},
		{"cluster clashes with xds", func(p *Params) { p.Upstreams[0].Cluster = wellknown.XDSCluster }, "Params.Upstreams[0] (github)"},
		{"negative body limit", func(p *Params) { p.MaxRequestBodyBytes = -1 }, "Params.MaxRequestBodyBytes"},
		{"body limit over uint32", func(p *Params) { p.MaxRequestBodyBytes = 1 << 33 }, "Params.MaxRequestBodyBytes"},
		{"negative message timeout", func(p *Params) { p.MessageTimeout = -time.Second }, "Params.MessageTimeout"},
		{"nil upstream", func(p *Params) { p.Upstreams = append(p.Upstreams, nil) }, "Params.Upstreams[2]"},
		{"upstream without url", func(p *Params) { p.Upstreams[0].URL = nil }, "Params.Upstreams[0] (github)"},
		{"upstream ftp url", func(p *Params) { p.Upstreams[0].URL = &url.URL{Scheme: "ftp", Host: "x"} }, "Params.Upstreams[0] (github)"},
		{"upstream without host", func(p *Params) { p.Upstreams[1].URL = &url.URL{Scheme: "http", Path: "/mcp"} }, "Params.Upstreams[1] (wiki)"},
		{"upstream bad port", func(p *Params) { p.Upstreams[1].URL = &url.URL{Scheme: "http", Host: "wiki:99999"} }, "Params.Upstreams[1] (wiki)"},
		{"upstream without cluster", func(p *Params) { p.Upstreams[0].Cluster = "" }, "Params.Upstreams[0] (github)"},
		{"duplicate cluster", func(p *Params) { p.Upstreams[1].Cluster = p.Upstreams[0].Cluster }, "Params.Upstreams[1] (wiki)"},
		{"cluster clashes with sidecar", func(p *Params) { p.Upstreams[0].Cluster = wellknown.SidecarCluster }, "Params.Upstreams[0] (github)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := baseParams(t)
			tt.modify(&p)
			_, err := Render(p)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

// Limits only the protos know come back from ValidateAll, named by the
// config object and field.
func TestProtoValidationErrors(t *testing.T) {
	p := baseParams(t)
	p.MessageTimeout = 2 * time.Hour // ext_proc allows at most 1h
	p.RequestTimeout = 3 * time.Hour
	_, err := Render(p)
	if err == nil || !strings.Contains(err.Error(), "invalid ext_proc filter") || !strings.Contains(err.Error(), "MessageTimeout") {
		t.Fatalf("err = %v", err)
	}
}

func TestNonHTTPUpstreamsNeedNoURL(t *testing.T) {
	p := baseParams(t)
	p.Upstreams = append(p.Upstreams, &upstreams.Upstream{Alias: "fs", Transport: upstreams.TransportStdio})
	if _, err := Bootstrap(p); err != nil {
		t.Fatal(err)
	}
}
