package policy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mcpgw/mcpgw/policy/identity"
)

// Envoy's fast path (docs/architecture.md, "The fast path") decides a
// tools/call inside Envoy from a key's grant on a server: the first step
// of the decision, computed here by the policy itself (authz.rego's
// grant), handed over as plain data. The second step, which Envoy runs,
// is the shipped policy's allow for a tool: the tool is in the grant's
// tools (or the grant is open to every tool) and not in deny, and when
// the grant has a params rule for the tool, every argument name is in it.
// Custom rules can read anything, so a version with custom rules hands
// nothing over and every call takes the full path.

// ToolGrant is a principal's grant on one server as plain data.
type ToolGrant struct {
	// KeyID, Team and Org are the key's id (input.principal.id; the
	// access log's key_alias), team and organization, for the decision
	// log.
	KeyID, Team, Org string
	// AnyTool: every tool not in Deny (the grant's tools_open).
	AnyTool bool
	// Tools are the tools usable (but for Deny) when AnyTool is false.
	Tools []string
	// Deny are tools never usable.
	Deny []string
	// Params maps a tool to the only top-level argument names a call of
	// it may send (allowed_params); a tool without an entry takes any.
	Params map[string][]string
}

// FastPathable reports whether this version's decisions on tools/call
// can be made from a ToolGrant alone, and why not.
func (p *Prepared) FastPathable() (bool, string) {
	if p.custom > 0 {
		return false, fmt.Sprintf("access.policy_dir has %d custom policy modules", p.custom)
	}
	return true, ""
}

// ToolGrant returns the grant of the key with digest d on server as the
// policy computes it. ok is false when the version is not FastPathable,
// the key does not authenticate at now or has an expiry, or it has no
// grant on server.
func (p *Prepared) ToolGrant(ctx context.Context, d identity.Digest, server string, now time.Time) (g ToolGrant, ok bool, err error) {
	if fast, _ := p.FastPathable(); !fast {
		return g, false, nil
	}
	pr, ok := p.keys.Lasting(d, now)
	if !ok {
		return g, false, nil
	}
	t, err := p.grant(ctx, p.principals.entry(pr), server)
	if err != nil {
		return g, false, err
	}
	obj, isObj := t.Value.(ast.Object)
	if !isObj {
		return g, false, nil // false: no grant
	}
	g, ok, err = toolGrant(obj)
	g.KeyID, g.Team, g.Org = pr.ID, pr.Team, pr.Org
	return g, ok, err
}

// toolGrant reads a grant object ({tools_open, tools, deny, params}, see
// authz.rego); any other shape is not handed over.
func toolGrant(obj ast.Object) (g ToolGrant, ok bool, err error) {
	open, isBool := obj.Get(ast.InternedTerm("tools_open")).Value.(ast.Boolean)
	if !isBool {
		return g, false, fmt.Errorf("grant: tools_open is not a boolean")
	}
	g.AnyTool = bool(open)
	if g.Tools, err = setKeys(obj, "tools"); err != nil {
		return g, false, err
	}
	if g.Deny, err = setKeys(obj, "deny"); err != nil {
		return g, false, err
	}
	params, isObj := termValue(obj, "params").(ast.Object)
	if !isObj {
		return g, false, fmt.Errorf("grant: params is not an object")
	}
	g.Params = make(map[string][]string, params.Len())
	err = params.Iter(func(k, v *ast.Term) error {
		tool, isStr := k.Value.(ast.String)
		rule, isRule := v.Value.(ast.Object)
		if !isStr || !isRule {
			return fmt.Errorf("grant: params entry is not tool → rule")
		}
		names, err := setKeys(rule, "set")
		if err != nil {
			return err
		}
		g.Params[string(tool)] = names
		return nil
	})
	if err != nil {
		return g, false, err
	}
	return g, true, nil
}

func termValue(obj ast.Object, key string) ast.Value {
	if t := obj.Get(ast.InternedTerm(key)); t != nil {
		return t.Value
	}
	return nil
}

// setKeys reads obj[key], an object used as a set ({name: true}), as its
// sorted keys.
func setKeys(obj ast.Object, key string) ([]string, error) {
	set, isObj := termValue(obj, key).(ast.Object)
	if !isObj {
		return nil, fmt.Errorf("grant: %s is not an object", key)
	}
	out := make([]string, 0, set.Len())
	err := set.Iter(func(k, v *ast.Term) error {
		s, isStr := k.Value.(ast.String)
		if b, isBool := v.Value.(ast.Boolean); !isStr || !isBool || !bool(b) {
			return fmt.Errorf("grant: %s is not a set of names", key)
		}
		out = append(out, string(s))
		return nil
	})
	slices.Sort(out)
	return out, err
}
