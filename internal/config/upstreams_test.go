package config

import (
	"maps"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams"
)

func TestUpstreams(t *testing.T) {
	src := `litellm_settings:
  mcp_aliases:
    gh: github
mcp_servers:
  github:
    url: https://user:pw@api.githubcopilot.com/mcp?x=1
    auth_type: bearer_token
    auth_value: ghp_x
  wiki:
    url: https://mcp.deepwiki.com/sse
    transport: sse
    mcp_info:
      description: from mcp_info
  local:
    transport: stdio
    command: npx
  petstore:
    url: https://petstore.example/api
    spec_path: ./petstore.json
`
	cfg := mustParse(t, src, nil)
	ups := cfg.Upstreams()
	if len(ups) != 4 {
		t.Fatalf("got %d upstreams, want 4", len(ups))
	}
	gh, wiki, local, pet := ups[0], ups[1], ups[2], ups[3]

	if gh.Alias != "gh" || gh.Cluster != upstreams.ClusterName("gh") || gh.Transport != upstreams.TransportHTTP {
		t.Errorf("github upstream = %+v", gh)
	}
	if gh.URL == nil || gh.URL.User != nil || gh.URL.Host != "api.githubcopilot.com" || gh.Path() != "/mcp?x=1" {
		t.Errorf("github URL = %v; want credentials dropped, path and query kept", gh.URL)
	}
	if !maps.Equal(gh.Credentials.Auth, map[string]string{"Authorization": "Bearer ghp_x"}) || gh.Credentials.Scheme != "bearer_token" {
		t.Errorf("github credentials = %+v", gh.Credentials)
	}
	// Adapted servers: no URL until the sidecar's endpoint is bound.
	if wiki.Transport != upstreams.TransportSSE || wiki.URL != nil || wiki.Description != "from mcp_info" ||
		wiki.Adapter == nil || wiki.Adapter.Kind != upstreams.AdapterSSE || wiki.Adapter.Source != "https://mcp.deepwiki.com/sse" {
		t.Errorf("wiki upstream = %+v", wiki)
	}
	if local.Transport != upstreams.TransportStdio || local.URL != nil || local.Cluster != "mcp_upstream_local" ||
		local.Adapter == nil || local.Adapter.Kind != upstreams.AdapterStdio || local.Adapter.Command != "npx" {
		t.Errorf("local upstream = %+v", local)
	}
	if pet.URL != nil || pet.Adapter == nil || pet.Adapter.Kind != upstreams.AdapterOpenAPI ||
		pet.Adapter.SpecPath != "./petstore.json" || pet.Adapter.Source != "https://petstore.example/api" {
		t.Errorf("petstore upstream = %+v", pet)
	}
	if host, port, err := gh.HostPort(); err != nil || host != "api.githubcopilot.com" || port != 443 {
		t.Errorf("HostPort = %s %d %v", host, port, err)
	}
}
