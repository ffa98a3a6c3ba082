package identity

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// Digest is the SHA-256 of a key: the only form in which keys are stored.
// It is what LiteLLM stores as a key's token (hash_token: sha256 hex).
type Digest [sha256.Size]byte

// Hash returns the digest of a plain key.
func Hash(key string) Digest { return sha256.Sum256([]byte(key)) }

var errNotDigest = errors.New(`must be 64 hex digits (a SHA-256), optionally prefixed "sha256:"`)

// ParseDigest reads a digest written as 64 hex digits, optionally prefixed
// "sha256:".
func ParseDigest(s string) (Digest, error) {
	var d Digest
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) != 2*len(d) {
		return d, errNotDigest
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, errNotDigest
	}
	return d, nil
}

// String returns the digest as lower-case hex.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Short is a 12-digit prefix of the digest: enough to tell keys apart in
// logs, useless for finding the key.
func (d Digest) Short() string { return d.String()[:12] }

// Equal compares two digests in constant time.
func (d Digest) Equal(o Digest) bool { return subtle.ConstantTimeCompare(d[:], o[:]) == 1 }
