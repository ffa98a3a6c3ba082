package namespace

import (
	"fmt"
	"strings"
)

// DefaultSeparator joins alias and tool name, as in LiteLLM.
const DefaultSeparator = "-"

// MaxNameLength is MCP's limit on tool, prompt and resource-template names.
const MaxNameLength = 128

// Registry knows the configured server aliases and the prefix separator.
// It is immutable; build a new one when the config changes.
type Registry struct {
	sep     string
	aliases map[string]struct{}
	ordered []string
	groups  map[string][]string // access group → aliases
}

// Option configures a Registry.
type Option func(*Registry) error

// WithAccessGroups declares access groups: group name → member aliases
// (from access_groups on each server). Members must be configured aliases.
func WithAccessGroups(groups map[string][]string) Option {
	return func(r *Registry) error {
		for g, members := range groups {
			if g == "" {
				return fmt.Errorf("namespace: empty access group name")
			}
			for _, m := range members {
				if !r.Has(m) {
					return fmt.Errorf("namespace: access group %q names unknown server %q", g, m)
				}
			}
			r.groups[g] = append([]string(nil), members...)
		}
		return nil
	}
}

// NewRegistry builds a registry. Aliases must be unique and non-empty; the
// separator must be non-empty.
func NewRegistry(aliases []string, sep string, opts ...Option) (*Registry, error) {
	if sep == "" {
		return nil, fmt.Errorf("namespace: empty prefix separator")
	}
	r := &Registry{sep: sep, aliases: make(map[string]struct{}, len(aliases)), groups: map[string][]string{}}
	for _, a := range aliases {
		if a == "" {
			return nil, fmt.Errorf("namespace: empty server alias")
		}
		if _, dup := r.aliases[a]; dup {
			return nil, fmt.Errorf("namespace: duplicate server alias %q", a)
		}
		r.aliases[a] = struct{}{}
		r.ordered = append(r.ordered, a)
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Separator returns the prefix separator.
func (r *Registry) Separator() string { return r.sep }

// Aliases returns the aliases in configuration order.
func (r *Registry) Aliases() []string { return append([]string(nil), r.ordered...) }

// Has reports whether alias is configured.
func (r *Registry) Has(alias string) bool {
	_, ok := r.aliases[alias]
	return ok
}

// Prefix returns the name clients see for an upstream's name.
func (r *Registry) Prefix(alias, name string) string { return alias + r.sep + name }

// Split resolves a prefixed name to (alias, upstream name). It matches the
// longest configured alias followed by the separator, so it stays exact
// even if an alias itself contains the separator. ok is false when no
// configured alias prefixes the name or nothing follows the prefix.
func (r *Registry) Split(prefixed string) (alias, name string, ok bool) {
	// Try every separator position from the right: the first hit is the
	// longest alias. Names are short (≤128), so this is a few map lookups.
	end := len(prefixed)
	for end > 0 {
		i := strings.LastIndex(prefixed[:end], r.sep)
		if i < 0 {
			break
		}
		if i > 0 && i+len(r.sep) < len(prefixed) {
			if _, hit := r.aliases[prefixed[:i]]; hit {
				return prefixed[:i], prefixed[i+len(r.sep):], true
			}
		}
		end = i
	}
	return "", "", false
}
