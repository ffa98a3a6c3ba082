// Package xds serves Envoy the gateway's upstream clusters and route table
// over ADS (delta xDS), so servers can be added, changed and removed while
// Envoy runs.
//
// The resources are built by package envoy ([envoy.UpstreamClusters],
// [envoy.RouteConfig]), the same builders the static bootstrap uses; the
// bootstrap rendered with an [envoy.Params] XDSAddress points Envoy here
// and keeps the listener and the gateway's own clusters static.
//
// Each resource's version is the SHA-256 of its deterministic encoding
// (go-control-plane's delta snapshot cache computes it), so an update
// sends Envoy only the clusters and routes that changed and names the
// removed ones; Envoy keeps unchanged clusters, and the calls on them,
// untouched, and drains removed ones.
package xds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	cplog "github.com/envoyproxy/go-control-plane/pkg/log"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"

	"github.com/mcpgw/mcpgw/envoy"
)

// served are the resource types in a snapshot: what an Envoy must have
// acknowledged to hold a version.
var served = []resource.Type{resource.ClusterType, resource.RouteType}

// Server is an ADS server for Envoys with node id [envoy.NodeID]. Every
// Envoy that connects gets the same snapshot. The zero value is not
// usable; call [New].
type Server struct {
	cache  cachev3.SnapshotCache
	grpc   *grpc.Server
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	// updateMu serializes Updates: a snapshot's version and its place in
	// the cache must agree.
	updateMu sync.Mutex

	mu sync.Mutex
	// version numbers snapshots from 1; 0 = none yet.
	version uint64
	// want is the current snapshot's resource versions, per type URL and
	// name.
	want map[string]map[string]string
	// streams are the open ADS streams, by go-control-plane's stream id.
	streams map[int64]*stream
	// changed is closed (and replaced) whenever something WaitAcked
	// looks at changes.
	changed chan struct{}
}

// stream is what one Envoy has been sent and has acknowledged.
type stream struct {
	subscribed map[string]bool
	// acked is what Envoy holds, per type URL: resource name → version.
	acked map[string]map[string]string
	// pending are the responses sent and not yet answered, by nonce.
	pending map[string]sentResponse
	// holds is the newest snapshot version whose every resource Envoy
	// has acknowledged.
	holds uint64
	// rejected is Envoy's last NACK, of snapshot version rejectedAt.
	rejected   error
	rejectedAt uint64
}

type sentResponse struct {
	typeURL   string
	version   uint64
	resources map[string]string // name → version
	removed   []string
}

// New returns a Server with no snapshot yet; Envoys that connect wait
// for the first [Server.Update]. log may be nil.
func New(log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		streams: map[int64]*stream{},
		changed: make(chan struct{}),
	}
	s.cache = cachev3.NewSnapshotCache(true, oneGroup{}, slogAdapter{log})
	callbacks := serverv3.CallbackFuncs{
		StreamOpenFunc: func(context.Context, int64, string) error {
			// WaitAcked follows delta streams only.
			return errors.New("mcpgw serves delta xDS only (ads_config api_type DELTA_GRPC)")
		},
		DeltaStreamOpenFunc:     s.streamOpened,
		DeltaStreamClosedFunc:   s.streamClosed,
		StreamDeltaRequestFunc:  s.request,
		StreamDeltaResponseFunc: s.response,
		FetchRequestFunc: func(context.Context, *discoveryv3.DiscoveryRequest) error {
			return errors.New("mcpgw serves delta xDS only")
		},
	}
	s.grpc = grpc.NewServer()
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(s.grpc, serverv3.NewServer(ctx, s.cache, callbacks))
	return s
}

// Serve serves ADS on lis until Stop; it returns nil after Stop.
func (s *Server) Serve(lis net.Listener) error {
	if err := s.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("xds: %w", err)
	}
	return nil
}

// Stop closes the listener and every stream at once. Stop Envoy first:
// an Envoy that loses its ADS server keeps its configuration but logs
// and retries.
func (s *Server) Stop() {
	s.cancel()
	s.grpc.Stop()
}

// Update makes the clusters and the route table for p the current
// snapshot and returns its version, for [Server.WaitAcked]. It reads p's
// Upstreams, MaxRequestBodyBytes and CAFile (what [envoy.UpstreamClusters]
// and [envoy.RouteConfig] read); the other fields belong to the
// bootstrap. Connected Envoys are sent what changed at once.
func (s *Server) Update(ctx context.Context, p envoy.Params) (string, error) {
	clusters, err := envoy.UpstreamClusters(p)
	if err != nil {
		return "", err
	}
	routes, err := envoy.RouteConfig(p)
	if err != nil {
		return "", err
	}
	s.updateMu.Lock()
	defer s.updateMu.Unlock()
	s.mu.Lock()
	next := s.version + 1
	s.mu.Unlock()
	version := strconv.FormatUint(next, 10)
	snap, err := cachev3.NewSnapshot(version, map[resource.Type][]types.Resource{
		resource.ClusterType: asResources(clusters),
		resource.RouteType:   {routes},
	})
	if err != nil {
		return "", fmt.Errorf("xds: snapshot: %w", err)
	}
	if err := snap.ConstructVersionMap(); err != nil {
		return "", fmt.Errorf("xds: snapshot: %w", err)
	}
	s.mu.Lock()
	s.version = next
	s.want = map[string]map[string]string{}
	for _, t := range served {
		s.want[t] = maps.Clone(snap.GetVersionMap(t))
	}
	// An Envoy may hold this content already (nothing changed).
	for _, st := range s.streams {
		s.check(st)
	}
	s.notify()
	s.mu.Unlock()
	// The cache sends each watching stream its changes before it returns
	// (the streams' channels are buffered).
	if err := s.cache.SetSnapshot(ctx, envoy.NodeID, snap); err != nil {
		return "", fmt.Errorf("xds: set snapshot: %w", err)
	}
	s.log.Debug("xds snapshot", "version", version, "clusters", len(clusters))
	return version, nil
}

// WaitAcked returns once every connected Envoy, and at least one, has
// acknowledged snapshot version (or a later one): from then on requests
// through those Envoys are routed by it. An Envoy rejecting it (NACK) is
// an error at once, with Envoy's reason. A cluster with a DNS name may
// still be resolving its first address when WaitAcked returns: Envoy
// acknowledges before a new cluster has warmed.
func (s *Server) WaitAcked(ctx context.Context, version string) error {
	v, err := strconv.ParseUint(version, 10, 64)
	if err != nil || v == 0 {
		return fmt.Errorf("xds: %q is not a snapshot version", version)
	}
	for {
		s.mu.Lock()
		if v > s.version {
			s.mu.Unlock()
			return fmt.Errorf("xds: no snapshot version %s yet (current %d)", version, s.version)
		}
		held := len(s.streams) > 0
		var rejected error
		for _, st := range s.streams {
			if st.holds < v {
				held = false
			}
			if st.rejected != nil && st.rejectedAt >= v {
				rejected = st.rejected
			}
		}
		changed := s.changed
		s.mu.Unlock()
		switch {
		case held:
			return nil
		case rejected != nil:
			return rejected
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("xds: Envoy has not acknowledged configuration version %s: %w", version, context.Cause(ctx))
		}
	}
}

func (s *Server) streamOpened(_ context.Context, id int64, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams[id] = &stream{
		subscribed: map[string]bool{},
		acked:      map[string]map[string]string{},
		pending:    map[string]sentResponse{},
	}
	s.notify()
	return nil
}

func (s *Server) streamClosed(id int64, node *corev3.Node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.streams, id)
	s.notify()
	s.log.Debug("xds stream closed", "stream", id, "node", node.GetId())
}

// response records what a stream is sent, to apply it when Envoy
// acknowledges the nonce.
func (s *Server) response(id int64, _ *discoveryv3.DeltaDiscoveryRequest, resp *discoveryv3.DeltaDiscoveryResponse) {
	sent := sentResponse{typeURL: resp.GetTypeUrl(), resources: map[string]string{}, removed: resp.GetRemovedResources()}
	sent.version, _ = strconv.ParseUint(resp.GetSystemVersionInfo(), 10, 64)
	for _, r := range resp.GetResources() {
		sent.resources[r.GetName()] = r.GetVersion()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.streams[id]; st != nil {
		st.pending[resp.GetNonce()] = sent
	}
}

// request follows a stream's subscriptions and its ACKs and NACKs.
func (s *Server) request(id int64, req *discoveryv3.DeltaDiscoveryRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[id]
	if st == nil {
		return nil
	}
	t := req.GetTypeUrl()
	if !st.subscribed[t] {
		// The first request of a type: what Envoy already holds (after a
		// reconnect), which the cache does not send again.
		st.subscribed[t] = true
		st.acked[t] = maps.Clone(req.GetInitialResourceVersions())
		if st.acked[t] == nil {
			st.acked[t] = map[string]string{}
		}
	}
	if nonce := req.GetResponseNonce(); nonce != "" {
		sent, ok := st.pending[nonce]
		delete(st.pending, nonce)
		switch {
		case !ok:
		case req.GetErrorDetail() != nil:
			st.rejected = fmt.Errorf("xds: Envoy rejected configuration version %d (%s): %s",
				sent.version, shortType(sent.typeURL), req.GetErrorDetail().GetMessage())
			st.rejectedAt = sent.version
			s.log.Warn("Envoy rejected xDS configuration", "version", sent.version,
				"type", shortType(sent.typeURL), "error", req.GetErrorDetail().GetMessage())
		default:
			acked := st.acked[sent.typeURL]
			if acked == nil {
				acked = map[string]string{}
				st.acked[sent.typeURL] = acked
			}
			maps.Copy(acked, sent.resources)
			for _, name := range sent.removed {
				delete(acked, name)
			}
			if sent.version > st.rejectedAt {
				st.rejected = nil
			}
		}
	}
	s.check(st)
	s.notify()
	return nil
}

// check advances st.holds when Envoy holds exactly the current snapshot.
// Called with s.mu held.
func (s *Server) check(st *stream) {
	if s.version == 0 || st.holds >= s.version {
		return
	}
	for _, t := range served {
		if !st.subscribed[t] || !maps.Equal(st.acked[t], s.want[t]) {
			return
		}
	}
	st.holds = s.version
}

// notify wakes WaitAcked. Called with s.mu held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func asResources(clusters []*clusterv3.Cluster) []types.Resource {
	out := make([]types.Resource, len(clusters))
	for i, c := range clusters {
		out[i] = c
	}
	return out
}

func shortType(typeURL string) string {
	switch typeURL {
	case resource.ClusterType:
		return "clusters"
	case resource.RouteType:
		return "routes"
	}
	return typeURL
}

// oneGroup puts every Envoy in the group envoy.NodeID: they all serve the
// same gateway, whatever node id their bootstrap names.
type oneGroup struct{}

func (oneGroup) ID(*corev3.Node) string { return envoy.NodeID }

// slogAdapter gives go-control-plane's logging to slog; its Info lines
// (a watch opened per request) are Debug here.
type slogAdapter struct{ log *slog.Logger }

var _ cplog.Logger = slogAdapter{}

func (a slogAdapter) Debugf(format string, args ...any) { a.logf(slog.LevelDebug, format, args) }
func (a slogAdapter) Infof(format string, args ...any)  { a.logf(slog.LevelDebug, format, args) }
func (a slogAdapter) Warnf(format string, args ...any)  { a.logf(slog.LevelWarn, format, args) }
func (a slogAdapter) Errorf(format string, args ...any) { a.logf(slog.LevelError, format, args) }

func (a slogAdapter) logf(level slog.Level, format string, args []any) {
	if a.log.Enabled(context.Background(), level) {
		a.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}
