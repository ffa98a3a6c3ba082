package openapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// API is a loaded spec bound to its base URL: the tools and how to call
// them. It is safe for concurrent use.
type API struct {
	opts   Options
	client *http.Client // opts.HTTPClient, following only same-host redirects
	log    *slog.Logger
	spec   *Spec
	base   *url.URL
	byName map[string]*Tool
}

// Load reads and converts the spec and resolves the base URL. Skipped
// operations and notes are logged; they are also in Spec().
func Load(ctx context.Context, opts Options) (*API, error) {
	if err := opts.applyDefaults(); err != nil {
		return nil, err
	}
	log := opts.Logger.With("upstream", opts.Alias)
	data, location, err := readSpec(ctx, &opts)
	if err != nil {
		return nil, fmt.Errorf("openapi server %s: %w", opts.Alias, err)
	}
	spec, err := Convert(ctx, data, location, true)
	if err != nil {
		return nil, fmt.Errorf("openapi server %s: spec %s: %w", opts.Alias, opts.SpecPath, err)
	}
	base, err := baseURL(opts.BaseURL, spec.ServerURL, location)
	if err != nil {
		return nil, fmt.Errorf("openapi server %s: %w", opts.Alias, err)
	}
	// API requests carry the server's credentials (Headers, Token): a
	// redirect to another host is not followed. (The spec is fetched
	// without them, so its redirects are.)
	client := *opts.HTTPClient
	client.CheckRedirect = credentials.SameHostRedirects
	a := &API{opts: opts, client: &client, log: log, spec: spec, base: base, byName: map[string]*Tool{}}
	for _, t := range spec.Tools {
		a.byName[t.Name] = t
	}
	for _, s := range spec.Skipped {
		log.Warn("openapi operation skipped", "operation", s.Operation, "reason", s.Reason)
	}
	for _, n := range spec.Notes {
		log.Info("openapi conversion note", "note", n)
	}
	log.Info("openapi spec loaded", "title", spec.Title, "version", spec.Version,
		"tools", len(spec.Tools), "skipped", len(spec.Skipped), "base", base.Redacted())
	return a, nil
}

// Spec returns the converted document.
func (a *API) Spec() *Spec { return a.spec }

// Tools returns the tools, in document order.
func (a *API) Tools() []*Tool { return a.spec.Tools }

// baseURL picks the API's base: the configured URL, else the spec's
// server URL resolved against where the spec came from.
func baseURL(configured, server string, location *url.URL) (*url.URL, error) {
	if configured != "" {
		u, err := url.Parse(configured)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("url must be an absolute http(s) URL")
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = strings.TrimSuffix(u.RawPath, "/")
		return u, nil
	}
	if server == "" {
		server = "/"
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, fmt.Errorf("the spec's server URL %q is not a URL", server)
	}
	if !u.IsAbs() {
		if location == nil || (location.Scheme != "http" && location.Scheme != "https") {
			return nil, fmt.Errorf("the spec's server URL %q is relative and the spec is a file: set url to the API's base URL", server)
		}
		u = location.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the spec's server URL %q is not http(s): set url to the API's base URL", server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}
