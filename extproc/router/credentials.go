package router

import (
	"slices"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// WithCredentials sets how routed calls get their upstream credentials
// (the gateway key header, the legacy client credential header, the
// aliases x-mcp-<alias>-<header> names are parsed with). Without it the
// router uses credentials' defaults over the registry's aliases.
func WithCredentials(c *credentials.Rewriter) Option {
	return func(r *Router) { r.creds = c }
}

// setCredentials gives a routed call the credentials its upstream gets
// and removes every client header that must not reach it. An OAuth2
// token, when needed, is the caller's to add (Call.Credentials.Token).
func (r *Router) setCredentials(d *Decision, h Headers, up *upstreams.Upstream) {
	out := r.creds.Outbound(up.Alias, &up.Credentials, h)
	own := make([]string, 0, len(d.SetHeaders))
	for _, s := range d.SetHeaders {
		own = append(own, s.Name)
	}
	for _, s := range out.Set {
		if !slices.Contains(own, s.Name) {
			d.SetHeaders = append(d.SetHeaders, Header{s.Name, s.Value})
		}
	}
	for _, name := range out.Remove {
		if !slices.Contains(own, name) && !slices.Contains(d.RemoveHeaders, name) {
			d.RemoveHeaders = append(d.RemoveHeaders, name)
		}
	}
	if d.Call != nil {
		d.Call.Credentials = out
	}
}
