package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/upstreams/stdio"
)

// HostEnv is what Preflight asks the machine. Nil fields mean the real
// thing: the system resolver and the process environment.
type HostEnv struct {
	// LookupHost resolves a host name, like net.Resolver.LookupHost.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// LookupEnv reads the gateway's environment (the PATH a stdio server's
	// command is searched in, unless the server's env sets one).
	LookupEnv func(string) (string, bool)
}

// preflightDNSTimeout bounds all of Preflight's host lookups together.
const preflightDNSTimeout = 5 * time.Second

// Preflight checks what only the machine that runs the gateway can tell,
// the things a running gateway would otherwise report only as errors in
// its log: every upstream host name resolves (url, an OpenAPI spec_path
// URL, an OAuth2 token_url), every spec_path file can be read (relative
// paths from the working directory, as the gateway reads them), and every
// stdio command is found (as the gateway starts it: in the child's PATH,
// relative to cwd). Each finding names the server and the field.
//
// They are warnings, as in `mcpgw run`, which starts anyway and serves the
// other servers: a host may resolve only where the gateway is deployed, a
// command be installed later.
func Preflight(ctx context.Context, cfg *config.Config, env HostEnv) []config.Problem {
	if env.LookupHost == nil {
		env.LookupHost = net.DefaultResolver.LookupHost
	}
	if env.LookupEnv == nil {
		env.LookupEnv = os.LookupEnv
	}
	problem := func(s *config.Server, field, format string, args ...any) config.Problem {
		return config.Problem{File: cfg.Path, Line: s.Line, Path: "mcp_servers." + s.Name + "." + field, Message: fmt.Sprintf(format, args...)}
	}
	// Every name is resolved once, all at once, within one deadline.
	type lookup struct {
		server *config.Server
		field  string
		host   string
	}
	var lookups []lookup
	var hosts []string
	var out []config.Problem
	for i := range cfg.Servers {
		s := &cfg.Servers[i]
		if s.Transport == config.TransportStdio {
			if _, err := stdio.FindCommand(s.Command, s.Env, s.Cwd, env.LookupEnv); err != nil {
				out = append(out, problem(s, "command", "%v on this machine; the server is unavailable until it is", err))
			}
			continue
		}
		urls := []struct{ field, v string }{{"url", s.URL}}
		if isURL(s.SpecPath) {
			urls = append(urls, struct{ field, v string }{"spec_path", s.SpecPath})
		} else if s.SpecPath != "" {
			if f, err := os.Open(s.SpecPath); err != nil {
				out = append(out, problem(s, "spec_path", "%s cannot be read: %v%s; the server is unavailable until it can", s.SpecPath, pathErr(err), relativeNote(s.SpecPath)))
			} else {
				f.Close()
			}
		}
		if s.FetchesToken() {
			urls = append(urls, struct{ field, v string }{"token_url", s.OAuth2.TokenURL})
		}
		for _, h := range urls {
			u, err := url.Parse(h.v)
			if h.v == "" || err != nil || u.Hostname() == "" {
				continue // no URL, or a bad one: already a config error
			}
			if _, err := netip.ParseAddr(u.Hostname()); err == nil {
				continue
			}
			lookups = append(lookups, lookup{s, h.field, u.Hostname()})
			if !slices.Contains(hosts, u.Hostname()) {
				hosts = append(hosts, u.Hostname())
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, preflightDNSTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	results := make(map[string]error, len(hosts))
	for _, host := range hosts {
		wg.Go(func() {
			_, err := env.LookupHost(ctx, host)
			mu.Lock()
			results[host] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, l := range lookups {
		if err := results[l.host]; err != nil {
			out = append(out, problem(l.server, l.field, "host %q does not resolve on this machine (%s); the server is unavailable until it does", l.host, dnsReason(err)))
		}
	}
	// In file order (a server's findings together).
	slices.SortStableFunc(out, func(a, b config.Problem) int { return cmp.Compare(a.Line, b.Line) })
	return out
}

func isURL(v string) bool {
	return strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")
}

// pathErr drops the path from an *fs.PathError (the message names it).
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// relativeNote says where a relative path is read from.
func relativeNote(p string) string {
	if filepath.IsAbs(p) {
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return " (relative to the working directory " + wd + ")"
}

// dnsReason is why a lookup failed, without the resolver's address.
func dnsReason(err error) string {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return "no such host"
	case errors.As(err, &de) && de.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		return "no answer within " + preflightDNSTimeout.String()
	case errors.As(err, &de):
		return de.Err
	}
	return err.Error()
}
