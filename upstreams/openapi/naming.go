package openapi

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxToolName leaves room for the gateway's alias prefix within MCP's
// 128 characters (aliases have at most 64).
const maxToolName = 60

// toolName is the tool name for an operation: its operationId lowercased
// and reduced to MCP's tool-name characters (a-z 0-9 _ - .), runs of
// anything else becoming one "_". Without a usable operationId it is
// "<method>_<path>" the same way, e.g. get_pets_petid. Over-long names
// keep a prefix and get a short hash of the whole, so they stay unique
// and stable.
func toolName(operationID, method, path string) string {
	name := sanitize(operationID)
	if name == "" {
		name = sanitize(method + "_" + path)
	}
	if name == "" {
		name = "operation"
	}
	if len(name) > maxToolName {
		sum := sha256.Sum256([]byte(name))
		name = strings.TrimRight(name[:maxToolName-9], "_-.") + "_" + hex.EncodeToString(sum[:4])
	}
	return name
}

func sanitize(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			if gap && b.Len() > 0 && r != '_' && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			gap = false
			b.WriteRune(r)
			continue
		}
		gap = true
	}
	return strings.Trim(b.String(), "_-.")
}
