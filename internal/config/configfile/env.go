package configfile

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// LookupEnv looks up an environment variable, like os.LookupEnv, which is
// what production code passes. Tests pass a map-backed function.
type LookupEnv func(name string) (string, bool)

// envPrefix marks a LiteLLM environment reference: a string value
// "os.environ/NAME" stands for the value of variable NAME. LiteLLM
// (proxy_server.py, _check_for_os_environ_vars) replaces whole string
// values that start with it; so does this package.
const envPrefix = "os.environ/"

// Environment variables that LiteLLM reads for MCP settings.
const (
	envToolPrefixSeparator = "MCP_TOOL_PREFIX_SEPARATOR"
	envClientSideAuthName  = "LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME"
)

// lookup calls the LookupEnv, treating a nil one as an empty environment.
func (p *parser) lookup(name string) (string, bool) {
	if p.env == nil {
		return "", false
	}
	return p.env(name)
}

// resolve returns v, or the variable's value when v is an os.environ/
// reference. A reference to an unset variable is a problem at path; the
// message names the variable, never its value.
func (p *parser) resolve(n *yaml.Node, path, v string) (string, bool) {
	name, isRef := strings.CutPrefix(v, envPrefix)
	if !isRef {
		return v, true
	}
	if p.api {
		p.errorf(n, path, "%s references are read from the config file only, not from admin API bodies", envPrefix)
		return "", false
	}
	if !validEnvName(name) {
		p.errorf(n, path, "%s must be followed by an environment variable name", envPrefix)
		return "", false
	}
	val, ok := p.lookup(name)
	if !ok {
		p.errorf(n, path, "environment variable %s is not set (referenced as %s%s)", name, envPrefix, name)
		return "", false
	}
	return val, true
}

// validEnvName reports whether name is a portable environment variable
// name: a letter or underscore, then letters, digits and underscores.
func validEnvName(name string) bool {
	if name == "" || len(name) > 256 {
		return false
	}
	for i, c := range name {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
