package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus(wellknown.ExtProcHealthService, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, hs)
	go g.Serve(lis)
	defer g.Stop()

	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"http ok", []string{"probe", "-http", ok.URL}, 0, ""},
		{"http 503", []string{"probe", "-http", down.URL}, 1, "503 Service Unavailable"},
		{"http refused", []string{"probe", "-http", "http://127.0.0.1:1/"}, 1, "connection refused"},
		{"grpc serving", []string{"probe", "-grpc", lis.Addr().String()}, 0, ""},
		{"neither", []string{"probe"}, 1, "exactly one of -http and -grpc"},
		{"both", []string{"probe", "-http", ok.URL, "-grpc", lis.Addr().String()}, 1, "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErr)
			}
		})
	}
	// NOT_SERVING (a stopping service) is unhealthy.
	hs.Shutdown()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"probe", "-grpc", lis.Addr().String()}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "NOT_SERVING") {
		t.Errorf("after shutdown: exit %d, stderr %q", code, stderr.String())
	}
}
