package configfile

import (
	"strings"
	"testing"
	"time"
)

func TestDiscoveryTTL(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	for _, tt := range []struct {
		yaml    string
		want    time.Duration
		wantErr string
	}{
		{"gateway:\n  port: 4000\n", 0, ""}, // unset: the sidecar's default
		{"gateway:\n  discovery_ttl: 30\n", 30 * time.Second, ""},
		{"gateway:\n  discovery_ttl: 0\n", 0, "gateway.discovery_ttl: must be between 1 and 86400"},
		{"gateway:\n  discovery_ttl: fast\n", 0, "gateway.discovery_ttl"},
		{"gateway:\n  discovery_tll: 30\n", 0, `did you mean "discovery_ttl"`},
	} {
		cfg, err := Parse([]byte(tt.yaml), "test.yaml", noEnv)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err %v, want %q", tt.yaml, err, tt.wantErr)
			}
			continue
		}
		if err != nil || cfg.Gateway.DiscoveryTTL != tt.want {
			t.Errorf("%q: %v, %v; want %v", tt.yaml, cfg.Gateway.DiscoveryTTL, err, tt.want)
		}
	}
}

func TestUpstreamSessionIdle(t *testing.T) {
	for _, tt := range []struct {
		yaml    string
		want    time.Duration
		wantErr string
	}{
		{"gateway:\n  port: 4000\n", 0, ""}, // unset: the pool's default
		{"gateway:\n  upstream_session_idle: 600\n", 10 * time.Minute, ""},
		{"gateway:\n  upstream_session_idle: 5\n", 0, "gateway.upstream_session_idle: must be between 60 and 2592000"},
		{"gateway:\n  upstream_session_idle: 1h\n", 0, "gateway.upstream_session_idle"},
	} {
		cfg, err := Parse([]byte(tt.yaml), "test.yaml", nil)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err %v, want %q", tt.yaml, err, tt.wantErr)
			}
			continue
		}
		if err != nil || cfg.Gateway.UpstreamSessionIdle != tt.want {
			t.Errorf("%q: %v, %v; want %v", tt.yaml, cfg.Gateway.UpstreamSessionIdle, err, tt.want)
		}
	}
}
