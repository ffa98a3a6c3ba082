package identity

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Key is one configured gateway key, by digest.
type Key struct {
	Digest    Digest
	Principal Principal
	// Blocked keys (the key's own blocked flag, or its team's) are refused.
	Blocked bool
	// Expires, if not zero, is when the key stops working.
	Expires time.Time
}

// Keyring resolves request headers to principals. It is immutable: a
// config reload builds a new one. Lookups hash the presented key once and
// find it by digest in a map, so their cost does not grow with the number
// of keys.
type Keyring struct {
	header string // lower-case
	source KeySource
	master *Digest
	keys   map[Digest]*Key
}

// NewKeyring builds a keyring. src says where keys are read from; master,
// if non-nil, is the master key's digest. With no master key and no keys
// the gateway is open: every request is anonymous.
func NewKeyring(src KeySource, master *Digest, keys []Key) (*Keyring, error) {
	if src.Header == "" {
		src.Header = DefaultHeader
	}
	src.Header = strings.ToLower(src.Header)
	kr := &Keyring{header: src.Header, source: src, keys: make(map[Digest]*Key, len(keys))}
	if master != nil {
		m := *master
		kr.master = &m
	}
	for i := range keys {
		k := keys[i]
		if _, dup := kr.keys[k.Digest]; dup || (kr.master != nil && kr.master.Equal(k.Digest)) {
			return nil, fmt.Errorf("identity: key %q is configured twice (same key)", k.Principal.ID)
		}
		kr.keys[k.Digest] = &k
	}
	return kr, nil
}

// Header is the lower-case name of the header keys are read from (the
// fallback to Authorization aside: Source).
func (kr *Keyring) Header() string { return kr.header }

// Source says where keys are read from.
func (kr *Keyring) Source() KeySource { return kr.source }

// Required reports whether requests must carry a key (any key is
// configured).
func (kr *Keyring) Required() bool { return kr.master != nil || len(kr.keys) > 0 }

// Len is the number of keys, the master key included.
func (kr *Keyring) Len() int {
	n := len(kr.keys)
	if kr.master != nil {
		n++
	}
	return n
}

// Authenticate finds the principal of a request from its headers (header
// looks one up by lower-case name). now decides expiry. On failure the
// error is an *AuthError.
func (kr *Keyring) Authenticate(header func(name string) string, now time.Time) (*Principal, error) {
	if !kr.Required() {
		return Anonymous(), nil
	}
	raw := ""
	from := kr.source.For(header)
	if header != nil {
		raw = header(from)
	}
	if strings.Trim(raw, " \t") == "" {
		return nil, &AuthError{Reason: ReasonMissing, Header: kr.header}
	}
	key, ok := KeyFromHeader(raw)
	if !ok {
		return nil, &AuthError{Reason: ReasonMalformed, Header: from}
	}
	return kr.lookup(Hash(key), now, from)
}

// AuthenticateDigest finds the principal of the key whose SHA-256 is d,
// as Authenticate would for a request carrying that key: the admin UI
// asks what a stored key may use, knowing only its token. Failures are
// *AuthError values (blocked, expired, unknown).
func (kr *Keyring) AuthenticateDigest(d Digest, now time.Time) (*Principal, error) {
	if !kr.Required() {
		return Anonymous(), nil
	}
	return kr.lookup(d, now, kr.header)
}

// lookup finds the key with digest d, read from header from (named in
// errors, so a refused key in Authorization gets a Bearer challenge).
func (kr *Keyring) lookup(d Digest, now time.Time, from string) (*Principal, error) {
	// The master key is compared in constant time on every request, so
	// timing does not tell a master-key guess from another.
	isMaster := kr.master != nil && kr.master.Equal(d)
	k, found := kr.keys[d]
	switch {
	case isMaster:
		return &Principal{ID: MasterID, Admin: true, Owner: d.String()}, nil
	case !found || !k.Digest.Equal(d):
		return nil, &AuthError{Reason: ReasonUnknown, Header: from}
	case k.Blocked:
		return nil, &AuthError{Reason: ReasonBlocked, Header: from, KeyID: k.Principal.ID}
	case !k.Expires.IsZero() && !now.Before(k.Expires):
		return nil, &AuthError{Reason: ReasonExpired, Header: from, KeyID: k.Principal.ID}
	}
	p := k.Principal // Groups is shared: principals are read-only
	p.Owner = d.String()
	return &p, nil
}

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

// Lasting returns the principal of the key with digest d when it
// authenticates at now and only a new keyring can change that: a key
// with an expiry does not qualify (something outside the gateway, Envoy's
// fast path, may keep the answer until the next keyring).
func (kr *Keyring) Lasting(d Digest, now time.Time) (*Principal, bool) {
	if !kr.Required() {
		return nil, false
	}
	if k, ok := kr.keys[d]; ok && !k.Expires.IsZero() {
		return nil, false
	}
	p, err := kr.lookup(d, now, kr.header)
	if err != nil {
		return nil, false
	}
	return p, true
}
