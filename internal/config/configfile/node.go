package configfile

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// nodeBudget bounds the YAML nodes one parse visits, so that alias bombs
// ("billion laughs") and merge chains cannot make parsing blow up.
const nodeBudget = 1 << 20

// maxMergeDepth bounds nested "<<" merge keys.
const maxMergeDepth = 16

// parser holds the state of one Parse call.
type parser struct {
	file   string
	env    LookupEnv
	budget int
	broke  bool // budget ran out (reported once)
	// api is set when parsing an admin-API body: os.environ/ references
	// are refused there (an API caller must not read the gateway's
	// environment into a credential sent elsewhere).
	api bool

	problems    []config.Problem
	unsupported []config.Problem
	ignored     []config.Problem
	warnings    []config.Problem
}

func (p *parser) problem(n *yaml.Node, path, msg string) config.Problem {
	line := 0
	if n != nil {
		line = n.Line
	}
	return config.Problem{File: p.file, Line: line, Path: path, Message: msg}
}

// errorf records an error about node n (which may be nil) at path.
func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	p.problems = append(p.problems, p.problem(n, path, fmt.Sprintf(format, args...)))
}

// notSupported records that the setting at path is accepted but not acted
// on yet. detail, if any, says what that means for the user.
func (p *parser) notSupported(n *yaml.Node, path, detail string) {
	msg := "not supported yet"
	if detail != "" {
		msg += ": " + detail
	}
	p.unsupported = append(p.unsupported, p.problem(n, path, msg))
}

// warn records that the setting at path is acted on and gives up a
// default the gateway keeps for safety; msg says what that means.
func (p *parser) warn(n *yaml.Node, path, msg string) {
	p.warnings = append(p.warnings, p.problem(n, path, msg))
}

// ignore records that the setting at path is accepted and has no effect.
func (p *parser) ignore(n *yaml.Node, path, msg string) {
	p.ignored = append(p.ignored, p.problem(n, path, "ignored: "+msg))
}

// spend takes k units from the node budget; false once it is exhausted.
func (p *parser) spend(n *yaml.Node, k int) bool {
	if p.budget >= k {
		p.budget -= k
		return true
	}
	if !p.broke {
		p.broke = true
		p.errorf(n, "", "config is too large (over %d YAML nodes after expanding aliases)", nodeBudget)
	}
	return false
}

// deref follows YAML aliases (*name) to the anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// isNull reports whether n is absent or an explicit YAML null ("~",
// "null" or nothing after the colon).
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// kindName describes a node for "must be X, got Y" messages.
func kindName(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		}
		return "a scalar"
	}
	return "an unsupported YAML node"
}

// join appends a key to a dotted path. Keys that are not plain
// identifiers are quoted, so the path stays readable and unambiguous.
func join(path, key string) string {
	if !plainKey(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func plainKey(k string) bool {
	if k == "" || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// index appends a list index to a path.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// pair is one key and value of a YAML mapping.
type pair struct {
	key string
	k   *yaml.Node // key node, for its line
	v   *yaml.Node // value node, not dereferenced
}

// mapping returns the pairs of n, which must be a mapping (or null, which
// is an empty mapping). Duplicate keys are errors; "<<" merge keys are
// expanded, with the mapping's own keys taking precedence.
func (p *parser) mapping(n *yaml.Node, path string) ([]pair, bool) {
	d := deref(n)
	if isNull(d) {
		return nil, true
	}
	if d.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping, got %s", kindName(d))
		return nil, false
	}
	return p.pairs(d, path, 0), true
}

func (p *parser) pairs(n *yaml.Node, path string, depth int) []pair {
	var own, merged []pair
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !p.spend(n, 1) {
			return own
		}
		k, v := n.Content[i], n.Content[i+1]
		kd := deref(k)
		if kd == nil || kd.Kind != yaml.ScalarNode {
			p.errorf(k, path, "mapping keys must be strings, got %s", kindName(kd))
			continue
		}
		if kd.ShortTag() == "!!merge" {
			merged = append(merged, p.merge(v, path, depth+1)...)
			continue
		}
		if first, dup := seen[kd.Value]; dup {
			p.errorf(k, join(path, kd.Value), "duplicate key (first defined at line %d)", first.Line)
			continue
		}
		seen[kd.Value] = k
		own = append(own, pair{key: kd.Value, k: k, v: v})
	}
	for _, m := range merged {
		if _, dup := seen[m.key]; !dup {
			seen[m.key] = m.k
			own = append(own, m)
		}
	}
	return own
}

// merge returns the pairs a "<<" value contributes: a mapping, or a list
// of mappings where earlier ones win.
func (p *parser) merge(v *yaml.Node, path string, depth int) []pair {
	d := deref(v)
	if depth > maxMergeDepth {
		p.errorf(v, path, "merge keys (<<) nested too deeply")
		return nil
	}
	switch {
	case d != nil && d.Kind == yaml.MappingNode:
		return p.pairs(d, path, depth)
	case d != nil && d.Kind == yaml.SequenceNode:
		var out []pair
		seen := make(map[string]bool)
		for _, item := range d.Content {
			id := deref(item)
			if id == nil || id.Kind != yaml.MappingNode {
				p.errorf(item, path, "merge key (<<) list items must be mappings, got %s", kindName(id))
				continue
			}
			for _, pr := range p.pairs(id, path, depth) {
				if !seen[pr.key] {
					seen[pr.key] = true
					out = append(out, pr)
				}
			}
		}
		return out
	}
	p.errorf(v, path, "merge key (<<) value must be a mapping or a list of mappings, got %s", kindName(d))
	return nil
}
