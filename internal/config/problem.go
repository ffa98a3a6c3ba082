package config

import (
	"fmt"
	"strings"
)

// Problem is one finding about a config file: an error, or a warning or
// note in Config.Unsupported and Config.Ignored.
type Problem struct {
	// File is the config file name given to configfile.Parse or Load.
	File string
	// Line is the 1-based line the problem is about; 0 when it has no
	// line (a value taken from the environment, or an empty file).
	Line int
	// Path is the dotted path of the setting, e.g.
	// "mcp_servers.github.auth_type"; "" for the file as a whole.
	Path string
	// Message says what is wrong. It never contains a configured value
	// that may be a secret.
	Message string
	// Pointer is the JSON pointer (RFC 6901) of the field an admin-API
	// body problem is about, e.g. "/credentials/auth_value"; "" for the
	// body as a whole and for config-file problems.
	Pointer string
}

// String formats the problem as "file:line: path: message", leaving out
// the line and the path when they are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every error found in one config file. configfile.Parse and
// Load return it as their error; use errors.As to get at the list.
type Problems []Problem

// Error prints one problem per line, in file order.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
