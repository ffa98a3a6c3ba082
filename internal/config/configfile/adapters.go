package configfile

import (
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// Keys of servers the sidecar adapts (stdio, legacy SSE, OpenAPI). The
// stdio supervision keys (session_mode, startup, idle_timeout,
// max_processes) are this gateway's own; LiteLLM has no such settings.

// sessionModes and startups list the accepted values, default first.
var (
	sessionModes = []string{string(config.SessionShared), string(config.SessionPerClient)}
	startups     = []string{string(config.StartupLazy), string(config.StartupEager)}
)

// maxIdleTimeout bounds idle_timeout (seconds in YAML).
const maxIdleTimeout = 7 * 24 * time.Hour

func parseSessionMode(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	v, ok := p.enum(n, path, sessionModes)
	if ok {
		s.SessionMode = config.SessionMode(v)
	}
	return ok
}

func parseStartup(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	v, ok := p.enum(n, path, startups)
	if ok {
		s.Startup = config.Startup(v)
	}
	return ok
}

func parseIdleTimeout(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	f, ok := p.number(n, path)
	if !ok {
		return false
	}
	if f <= 0 || f > maxIdleTimeout.Seconds() {
		p.errorf(n, path, "must be between 0 and %d seconds", int(maxIdleTimeout.Seconds()))
		return false
	}
	s.IdleTimeout = time.Duration(f * float64(time.Second))
	return true
}

func parseMaxProcesses(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	i, ok := p.integer(n, path)
	if !ok {
		return false
	}
	if i < 1 || i > 4096 {
		p.errorf(n, path, "must be between 1 and 4096")
		return false
	}
	s.MaxProcesses = int(i)
	return true
}

// checkSpecPath checks spec_path: a file path or an http(s) URL. The file
// is read when the gateway starts, not here.
func (p *parser) checkSpecPath(s *config.Server, src serverSource, path string) {
	if s.SpecPath == "" {
		return
	}
	sp := join(path, "spec_path")
	if s.Transport == config.TransportStdio {
		p.errorf(src.node("spec_path"), sp, "cannot be combined with transport stdio")
		return
	}
	if strings.Contains(s.SpecPath, "://") {
		if msg := checkHTTPURL(s.SpecPath); msg != "" {
			p.errorf(src.node("spec_path"), sp, "%s", msg)
		}
		return
	}
	if strings.ContainsRune(s.SpecPath, 0) {
		p.errorf(src.node("spec_path"), sp, "must be a file path or an http(s) URL")
	}
}
