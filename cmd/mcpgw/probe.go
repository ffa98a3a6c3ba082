package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// probeTimeout bounds one probe: a container healthcheck that hangs is
// worse than one that fails.
const probeTimeout = 3 * time.Second

// cmdProbe is a container healthcheck for images without a shell or curl
// (the distroless one): exit status 0 when the HTTP URL answers 2xx, or
// the gRPC address's health service says SERVING for the ext_proc
// service (wellknown.ExtProcHealthService, what Envoy asks too).
func cmdProbe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("probe", stderr)
	httpURL := fs.String("http", "", "GET this URL; healthy on a 2xx (e.g. http://127.0.0.1:9003/healthz)")
	grpcAddr := fs.String("grpc", "", "ask the gRPC health service at this host:port (e.g. 127.0.0.1:9002)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*httpURL == "") == (*grpcAddr == "") {
		fmt.Fprintln(stderr, "mcpgw probe: give exactly one of -http and -grpc")
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if *httpURL != "" {
		return probeHTTP(ctx, *httpURL, stdout)
	}
	return probeGRPC(ctx, *grpcAddr, stdout)
}

func probeHTTP(ctx context.Context, url string, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	fmt.Fprintf(stdout, "%s", body)
	return nil
}

func probeGRPC(ctx context.Context, addr string, stdout io.Writer) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: wellknown.ExtProcHealthService})
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return errors.New(addr + ": " + resp.GetStatus().String())
	}
	fmt.Fprintln(stdout, "SERVING")
	return nil
}
