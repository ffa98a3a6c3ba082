package configfile

import (
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The readers below check one YAML value against the type a setting
// expects. Each returns ok=false for an absent (null) value and for a
// wrong one, which it reports at path. String values are resolved from
// the environment when they are os.environ/ references, so a number or a
// boolean may come from the environment too.

// scalar returns the dereferenced scalar node n, or nil when n is null or
// is not a scalar (reported as "must be <want>").
func (p *parser) scalar(n *yaml.Node, path, want string) *yaml.Node {
	d := deref(n)
	if isNull(d) {
		return nil
	}
	if d.Kind != yaml.ScalarNode {
		p.errorf(n, path, "must be %s, got %s", want, kindName(d))
		return nil
	}
	return d
}

// str reads a string. Any scalar is accepted as its text (YAML turns
// `PORT: 8080` into a number, but an env map still means "8080").
func (p *parser) str(n *yaml.Node, path string) (string, bool) {
	d := p.scalar(n, path, "a string")
	if d == nil {
		return "", false
	}
	if d.ShortTag() == "!!str" {
		return p.resolve(d, path, d.Value)
	}
	return d.Value, true
}

// boolean reads true or false; like LiteLLM's YAML loader it also takes
// yes/no and on/off.
func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	v, ok := p.str(n, path)
	if !ok {
		return false, false
	}
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	p.errorf(n, path, "must be true or false")
	return false, false
}

// integer reads a whole number.
func (p *parser) integer(n *yaml.Node, path string) (int64, bool) {
	v, ok := p.str(n, path)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 0, 64)
	if err != nil {
		p.errorf(n, path, "must be an integer")
		return 0, false
	}
	return i, true
}

// number reads a finite number. LiteLLM coerces strings such as "7e-05"
// (a string in YAML 1.1) to numbers, so numeric strings are accepted.
func (p *parser) number(n *yaml.Node, path string) (float64, bool) {
	v, ok := p.str(n, path)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.errorf(n, path, "must be a number")
		return 0, false
	}
	return f, true
}

// strList reads a list of strings.
func (p *parser) strList(n *yaml.Node, path string) ([]string, bool) {
	d := deref(n)
	if isNull(d) {
		return nil, false
	}
	if d.Kind != yaml.SequenceNode {
		p.errorf(n, path, "must be a list of strings, got %s", kindName(d))
		return nil, false
	}
	if !p.spend(d, len(d.Content)) {
		return nil, false
	}
	out := make([]string, 0, len(d.Content))
	good := true
	for i, item := range d.Content {
		ip := index(path, i)
		if isNull(deref(item)) {
			p.errorf(item, ip, "must be a string, got null")
			good = false
			continue
		}
		s, ok := p.str(item, ip)
		good = good && ok
		out = append(out, s)
	}
	return out, good
}

// strMap reads a mapping of strings to strings.
func (p *parser) strMap(n *yaml.Node, path string) (map[string]string, bool) {
	pairs, ok := p.mapping(n, path)
	if !ok || pairs == nil {
		return nil, false
	}
	out := make(map[string]string, len(pairs))
	good := true
	for _, pr := range pairs {
		kp := join(path, pr.key)
		if isNull(deref(pr.v)) {
			out[pr.key] = ""
			continue
		}
		s, ok := p.str(pr.v, kp)
		good = good && ok
		out[pr.key] = s
	}
	return out, good
}

// strListMap reads a mapping of strings to lists of strings.
func (p *parser) strListMap(n *yaml.Node, path string) (map[string][]string, bool) {
	pairs, ok := p.mapping(n, path)
	if !ok || pairs == nil {
		return nil, false
	}
	out := make(map[string][]string, len(pairs))
	good := true
	for _, pr := range pairs {
		l, ok := p.strList(pr.v, join(path, pr.key))
		good = good && (ok || isNull(deref(pr.v)))
		out[pr.key] = l
	}
	return out, good
}

// enum reads a string that must be one of want (listed in messages in the
// given order). A wrong value is echoed only when it is short and written
// in the file, in case a secret was put in the wrong field.
func (p *parser) enum(n *yaml.Node, path string, want []string) (string, bool) {
	v, ok := p.str(n, path)
	if !ok {
		return "", false
	}
	for _, w := range want {
		if v == w {
			return v, true
		}
	}
	if len(v) > 32 || fromEnv(n) {
		p.errorf(n, path, "unknown value (want one of %s)", strings.Join(want, ", "))
		return "", false
	}
	p.errorf(n, path, "unknown value %s (want one of %s)%s", strconv.Quote(v), strings.Join(want, ", "), suggest(v, want))
	return "", false
}

// fromEnv reports whether n is an os.environ/ reference.
func fromEnv(n *yaml.Node) bool {
	d := deref(n)
	return d != nil && d.Kind == yaml.ScalarNode && d.ShortTag() == "!!str" && strings.HasPrefix(d.Value, envPrefix)
}
