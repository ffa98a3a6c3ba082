package policy

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The decision cache. A policy is a function of its input and its data;
// data is fixed for a Prepared version, so a decision can be reused for
// the same input, as long as the policy calls no non-deterministic
// builtin (time.now_ns, rand.intn, ...). The cache key holds exactly the
// input fields some module reads (the shipped policy reads the principal,
// method, server, kind, tool and argument names, not argument values or
// headers), so asking again about the same tool costs a map lookup.

// maxCached bounds a version's cache; when full it starts over.
const maxCached = 1 << 16

type decisionCache struct {
	mu sync.RWMutex
	m  map[string]Decision
}

func (c *decisionCache) get(k string) (Decision, bool) {
	c.mu.RLock()
	d, ok := c.m[k]
	c.mu.RUnlock()
	return d, ok
}

func (c *decisionCache) put(k string, d Decision) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]Decision, 1024)
	}
	c.m[k] = d
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

// cacheKey identifies req's input as far as the policy reads it.
func (p *Prepared) cacheKey(req Request) (string, bool) {
	var b strings.Builder
	b.Grow(128)
	field := func(s string) {
		b.WriteString(s)
		b.WriteByte(0)
	}
	pr := req.Principal
	field(pr.ID)
	field(pr.Team)
	field(pr.Org)
	field(strconv.FormatBool(pr.Admin))
	field(strconv.FormatBool(pr.Anonymous))
	field(strings.Join(pr.Groups, "\x01"))
	field(req.Method)
	field(req.Server)
	field(string(req.Kind))
	field(req.Name)
	field(req.Prefixed)
	if len(req.Arguments) > 0 {
		raw := bytes.TrimSpace(req.Arguments)
		if p.use.reads("arguments") {
			field(string(raw))
		} else if p.use.reads("argument_keys") {
			names, err := argumentNames(raw)
			if err != nil {
				return "", false
			}
			field(strings.Join(names, "\x01"))
		}
	}
	if p.use.reads("namespace") {
		field(req.Path)
		field(req.Scope.Single)
		field(strconv.FormatBool(req.Scope.Prefixed))
		field(strings.Join(req.Scope.Servers, "\x01"))
	}
	if p.use.reads("headers") && req.Header != nil {
		for _, h := range p.headers {
			field(req.Header(h))
		}
	}
	return b.String(), true
}
