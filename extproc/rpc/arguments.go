package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Tool arguments are read here for the policy (the full path) and for
// Envoy's fast path (envoy/fastpath), so both see the same names.

// ErrArguments: tool arguments that are not a JSON object.
var ErrArguments = errors.New("tool arguments are not a JSON object")

// Limits on the tool arguments the policy reads, checked while the names
// are read and before anything is evaluated: the work a call costs the
// policy (and the size of its decision, cache key and log line) is
// bounded, whatever a client sends. The policy refuses calls over them as
// invalid (policy.Decision.Invalid). No MCP tool takes more than a few dozen
// top-level arguments with short names.
const (
	// MaxArgumentNames bounds the members of a tools/call's arguments
	// object (a repeated name counts each time).
	MaxArgumentNames = 256
	// MaxArgumentNameBytes bounds one argument name, as sent (JSON
	// escapes included).
	MaxArgumentNameBytes = 256
)

// ErrArgumentLimit is returned for tool arguments over a limit above.
var ErrArgumentLimit = errors.New("tool arguments over the gateway's limits")

// ArgumentNames lists the top-level names of a JSON object in order (a
// repeated name once, at its first place). It runs on every tools/call,
// so it checks the document with json.Valid and then walks the top level
// itself instead of decoding tokens (FuzzArgumentNames holds it to
// encoding/json's reading).
func ArgumentNames(raw []byte) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, ErrArguments
	}
	if !json.Valid(raw) {
		var v any
		return nil, fmt.Errorf("%w: %v", ErrArguments, json.Unmarshal(raw, &v))
	}
	var names []string
	var seen nameSet
	members := 0
	i := 1
	for {
		i = skipSpace(raw, i)
		if raw[i] == '}' {
			return names, nil
		}
		if raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
		end := stringEnd(raw, i)
		if members++; members > MaxArgumentNames {
			return nil, fmt.Errorf("%w: more than %d argument names", ErrArgumentLimit, MaxArgumentNames)
		}
		if n := end - i - 2; n > MaxArgumentNameBytes {
			return nil, fmt.Errorf("%w: an argument name of %d bytes (at most %d)", ErrArgumentLimit, n, MaxArgumentNameBytes)
		}
		name, err := jsonString(raw[i:end])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrArguments, err)
		}
		i = skipSpace(raw, end)
		i = valueEnd(raw, skipSpace(raw, i+1)) // past ':' and the value
		if seen.add(name) {
			names = append(names, name)
		}
	}
}

// nameSet is a set of names: a list while it is small (the objects read
// here have a handful of members), a map past that.
type nameSet struct {
	list []string
	set  map[string]bool
}

// add adds name and reports whether it was new.
func (s *nameSet) add(name string) bool {
	if s.set == nil && len(s.list) < 16 {
		if slices.Contains(s.list, name) {
			return false
		}
		s.list = append(s.list, name)
		return true
	}
	if s.set == nil {
		s.set = make(map[string]bool, 64)
		for _, n := range s.list {
			s.set[n] = true
		}
	}
	if s.set[name] {
		return false
	}
	s.set[name] = true
	return true
}

// The helpers below walk a document json.Valid accepted.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// trimSpaceEnd is end moved back over the whitespace before it, not
// before start.
func trimSpaceEnd(b []byte, start, end int) int {
	for end > start && (b[end-1] == ' ' || b[end-1] == '\t' || b[end-1] == '\n' || b[end-1] == '\r') {
		end--
	}
	return end
}

// stringEnd returns the index just past the string starting at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i) - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
		if depth == 0 && (b[i] == '}' || b[i] == ']' || b[i] == '"') {
			return i + 1
		}
	}
	return i
}

// jsonString decodes a JSON string literal; one without escapes in valid
// UTF-8 is taken as it is.
func jsonString(lit []byte) (string, error) {
	inner := lit[1 : len(lit)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), nil
	}
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}

// MemberSpan finds the first member named name (as decoded) of obj, a
// JSON object json.Valid accepted: where its value starts and ends in
// obj. Envoy's fast path rewrites params.name in place with it.
func MemberSpan(obj []byte, name string) (start, end int, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, 0, false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return 0, 0, false
		}
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		keyEnd := stringEnd(obj, i)
		key, err := jsonString(obj[i:keyEnd])
		if err != nil {
			return 0, 0, false
		}
		start = skipSpace(obj, skipSpace(obj, keyEnd)+1) // past ':'
		end = valueEnd(obj, start)
		if key == name {
			return start, trimSpaceEnd(obj, start, end), true
		}
		i = end
	}
}

// RawMemberNames lists the member names of obj, a JSON object json.Valid
// accepted, as sent: escapes not decoded.
func RawMemberNames(obj []byte) []string {
	var names []string
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return names
		}
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		keyEnd := stringEnd(obj, i)
		names = append(names, string(obj[i+1:keyEnd-1]))
		i = valueEnd(obj, skipSpace(obj, skipSpace(obj, keyEnd)+1))
	}
}
