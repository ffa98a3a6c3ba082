package policy

import (
	"bytes"
	"encoding/binary"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mcpgw/mcpgw/policy/identity"
)

// The decision cache. A policy is a function of its input and its data;
// data is fixed for a Prepared version, so a decision can be reused for
// the same input, as long as the policy calls no non-deterministic
// builtin (time.now_ns, rand.intn, ...). The cache key holds exactly the
// input fields some module reads (the shipped policy reads the principal,
// method, server, kind, tool and argument names, not argument values or
// headers), so asking again about the same tool costs a map lookup.

// maxCached and maxCachedBytes bound a version's cache (entries, and the
// bytes of their keys and texts); when either is reached it starts over.
// Keys hold argument names, which clients choose, so the entry count
// alone would not bound its memory.
const (
	maxCached      = 1 << 16
	maxCachedBytes = 32 << 20
)

type decisionCache struct {
	mu    sync.RWMutex
	m     map[string]Decision
	bytes int
}

func (c *decisionCache) get(k string) (Decision, bool) {
	c.mu.RLock()
	d, ok := c.m[k]
	c.mu.RUnlock()
	return d, ok
}

func (c *decisionCache) put(k string, d Decision) {
	size := len(k) + len(d.Reason) + len(d.Message)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached || c.bytes+size > maxCachedBytes {
		c.m = make(map[string]Decision, 1024)
		c.bytes = 0
	}
	c.m[k] = d
	c.bytes += size
	c.mu.Unlock()
}

// inputUse says which input fields the policy reads.
type inputUse struct {
	all    bool            // the whole input, or a field chosen at run time
	fields map[string]bool // top-level fields read
}

func (u inputUse) reads(field string) bool { return u.all || u.fields[field] }

// analyze finds the input fields the modules read and whether their
// decisions may be cached.
func analyze(mods []*ast.Module) (use inputUse, cacheable bool) {
	use.fields = map[string]bool{}
	cacheable = true
	nondet := map[string]bool{}
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		if b.Nondeterministic {
			nondet[b.Name] = true
		}
	}
	for _, m := range mods {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if nondet[r.String()] {
				cacheable = false
			}
			if !r[0].Equal(ast.InputRootDocument) {
				return false
			}
			if len(r) == 1 {
				use.all = true
				return false
			}
			if s, ok := r[1].Value.(ast.String); ok {
				use.fields[string(s)] = true
			} else {
				use.all = true
			}
			return false
		})
	}
	return use, cacheable
}

// keyBuilder writes cache keys: each field length-prefixed, so no two
// different inputs share a key whatever bytes a field holds (argument
// names and header values come from clients).
type keyBuilder struct{ b []byte }

func (k *keyBuilder) field(s string) {
	k.b = binary.AppendUvarint(k.b, uint64(len(s)))
	k.b = append(k.b, s...)
}

func (k *keyBuilder) list(xs []string) {
	k.b = binary.AppendUvarint(k.b, uint64(len(xs)))
	for _, x := range xs {
		k.field(x)
	}
}

func (k *keyBuilder) principal(pr *identity.Principal) {
	k.field(pr.ID)
	k.field(pr.Team)
	k.field(pr.Org)
	k.list(pr.Groups)
	k.flag(pr.Admin)
	k.flag(pr.Anonymous)
}

func (k *keyBuilder) flag(v bool) {
	if v {
		k.b = append(k.b, 1)
	} else {
		k.b = append(k.b, 0)
	}
}

// cacheKey identifies req's input as far as the policy reads it.
func (p *Prepared) cacheKey(req Request) (string, bool) {
	k := keyBuilder{b: make([]byte, 0, 128)}
	k.principal(req.Principal)
	k.field(req.Method)
	k.field(req.Server)
	k.field(string(req.Kind))
	k.field(req.Name)
	k.field(req.Prefixed)
	raw := bytes.TrimSpace(req.Arguments)
	switch {
	case p.use.reads("arguments"):
		k.field(string(raw))
	case p.use.reads("argument_keys"):
		var names []string
		if len(raw) > 0 {
			var err error
			if names, err = req.argumentNames(); err != nil {
				return "", false
			}
		}
		k.list(names)
	}
	k.context(p, req)
	return string(k.b), true
}

// ListKey identifies what the list decisions for req depend on besides
// each item (its Server, Name and Prefixed): the policy version, and of
// req what the policy reads. Two lists with equal keys show the same
// items of the same catalog, so a caller may keep a filtered list until
// the key (or its catalog) changes. ok is false when decisions must not
// be reused (the policy calls a non-deterministic builtin), or a reload is
// under way.
func (e *Engine) ListKey(req Request) (key string, ok bool) {
	// Swap stores the version, then counts it: a key never names an
	// older version than the one its lists are decided with.
	gen := e.gen.Load()
	p := e.cur.Load()
	if e.gen.Load() != gen || !p.cacheable || req.Principal == nil {
		return "", false
	}
	k := keyBuilder{b: make([]byte, 0, 96)}
	k.b = binary.AppendUvarint(k.b, gen)
	k.principal(req.Principal)
	k.field(req.Method)
	k.field(string(req.Kind))
	k.context(p, req)
	return string(k.b), true
}

// context writes what the policy reads of req beyond the principal and
// the item: the endpoint's scope and the configured headers.
func (k *keyBuilder) context(p *Prepared, req Request) {
	if p.use.reads("namespace") {
		k.field(req.Path)
		k.field(req.Scope.Single)
		k.flag(req.Scope.Prefixed)
		k.list(req.Scope.Servers)
	}
	if p.use.reads("headers") && req.Header != nil {
		for _, h := range p.headers {
			k.field(req.Header(h))
		}
	}
}
