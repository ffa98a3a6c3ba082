package configfile

import (
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config"
)

// access.key_from_authorization: LiteLLM's Authorization fallback for
// gateway keys, off by default, and the start-up report says what a
// config that turns it on gives up.
func TestKeyFromAuthorization(t *testing.T) {
	const servers = "mcp_servers:\n  gh:\n    url: https://gh.example/mcp\n    extra_headers: [Authorization]\n"
	if cfg := mustParse(t, servers, nil); cfg.Access.KeyFromAuthorization || len(cfg.Warnings) != 0 {
		t.Fatalf("default: %v %v", cfg.Access.KeyFromAuthorization, cfg.Warnings)
	}
	cfg := mustParse(t, servers+"access:\n  key_from_authorization: true\n", nil)
	if !cfg.Access.KeyFromAuthorization {
		t.Fatal("not set")
	}
	w := findLine(t, cfg.Warnings, "test.yaml:6: access.key_from_authorization: gateway keys are also read from Authorization when x-litellm-api-key is absent")
	for _, want := range []string{
		"Authorization then means two things (docs/access-control.md)",
		"sends no Authorization of the client's to any upstream",
		"refused as an invalid key (401)",
		"extra_headers forwards Authorization only with the key in x-litellm-api-key: gh",
	} {
		if !strings.Contains(w.Message, want) {
			t.Errorf("warning %q lacks %q", w.Message, want)
		}
	}

	findLine(t, problemsOf(t, servers+"general_settings:\n  mcp_client_side_auth_header_name: Authorization\naccess:\n  key_from_authorization: true\n", nil),
		"access.key_from_authorization: Authorization cannot carry both gateway keys and the client credential")
	cfg = mustParse(t, "general_settings:\n  litellm_key_header_name: Authorization\naccess:\n  key_from_authorization: true\n", nil)
	findLine(t, cfg.Ignored, "access.key_from_authorization: ignored: general_settings.litellm_key_header_name is already Authorization")
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	if cfg := mustParse(t, "access:\n  key_from_authorization: false\n", nil); len(cfg.Warnings) != 0 {
		t.Errorf("false warns: %v", cfg.Warnings)
	}
}

// It decides which header never reaches an upstream, which the running
// processes were built with: a reload does not apply it, and says so.
func TestKeyFromAuthorizationNeedsRestart(t *testing.T) {
	off := mustParse(t, "mcp_servers: {}\n", nil)
	on := mustParse(t, "mcp_servers: {}\naccess:\n  key_from_authorization: true\n", nil)
	if r := config.CompareForReload(off, on); !r.KeySource || !r.NeedsRestart() {
		t.Errorf("compare: %+v", r)
	}
	if config.ForReload(off, on).Access.KeyFromAuthorization || !config.ForReload(on, off).Access.KeyFromAuthorization {
		t.Error("a reload changed key_from_authorization")
	}
}
