package clientsession

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Client session ids are sealed rather than stored: any replica, and a
// restarted one, can tell an id it issued from a forged or expired one
// without shared state. An id is
//
//	"mcpgw1_" + base64url(issued-at (8 bytes) | capabilities (1) | random (15) | mac (16))
//
// where mac is HMAC-SHA256 over the first 24 bytes and the owner (the
// credential of the principal that opened the session,
// identity.Principal.Owner), truncated to 16, keyed with a key derived
// (HKDF-SHA256) from a configured secret. An id therefore opens only for
// the key that initialized it: another key presenting it gets
// ErrUnknownSession, as for an id that was never issued.
const (
	sealedPrefix = "mcpgw1_"
	sealedBody   = 8 + 16
	sealedMAC    = 16
)

// ErrUnknownSession is an id this gateway did not issue, or one that has
// expired: the client must initialize again (HTTP 404).
var ErrUnknownSession = errors.New("session not found")

// Sealer issues and checks client session ids.
type Sealer struct {
	keys      [][]byte // keys[0] seals; all open
	relayKeys [][]byte // the same secrets' keys for relayed request ids
	ttl       time.Duration
	now       func() time.Time
}

// NewSealer derives the sealing keys once, from secrets in order (the
// first seals new ids, all open ids, so secrets rotate by prepending a
// new one). No secrets means one random key: ids then die with the
// process. ttl bounds an id's age.
func NewSealer(secrets []string, ttl time.Duration) (*Sealer, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("sessions: session ttl must be positive")
	}
	s := &Sealer{ttl: ttl, now: time.Now}
	if len(secrets) == 0 {
		k, rk := make([]byte, 32), make([]byte, 32)
		rand.Read(k)
		rand.Read(rk)
		s.keys, s.relayKeys = [][]byte{k}, [][]byte{rk}
		return s, nil
	}
	for i, sec := range secrets {
		if sec == "" {
			return nil, fmt.Errorf("sessions: session secret %d is empty", i)
		}
		k, err := hkdf.Key(sha256.New, []byte(sec), nil, "mcpgw client session id v1", 32)
		if err != nil {
			return nil, fmt.Errorf("sessions: derive key %d: %w", i, err)
		}
		rk, err := hkdf.Key(sha256.New, []byte(sec), nil, "mcpgw relayed request id v1", 32)
		if err != nil {
			return nil, fmt.Errorf("sessions: derive key %d: %w", i, err)
		}
		s.keys, s.relayKeys = append(s.keys, k), append(s.relayKeys, rk)
	}
	return s, nil
}

// RelayKeys are the keys, derived from the same secrets (first signs, all
// check), that sign the ids the router gives upstream requests relayed to
// clients (router.WithRelayKeys).
func (s *Sealer) RelayKeys() [][]byte { return s.relayKeys }

// MACKeys are the keys that open session ids (the first also seals), for
// a checker outside this process: Envoy's fast path opens a 2025-era
// client's id itself (docs/architecture.md, "The fast path"). They are
// derived for session ids alone: knowing them lets one forge an id, which
// gives a key holder nothing initialize would not, and tells nothing of
// the secrets or of the relay keys.
func (s *Sealer) MACKeys() [][]byte {
	out := make([][]byte, len(s.keys))
	for i, k := range s.keys {
		out[i] = append([]byte(nil), k...)
	}
	return out
}

// TTL is how long an id stays valid after it was issued.
func (s *Sealer) TTL() time.Duration { return s.ttl }

// New issues a session id for a client with capabilities caps, bound to
// owner.
func (s *Sealer) New(caps Capabilities, owner string) string {
	var b [sealedBody + sealedMAC]byte
	binary.BigEndian.PutUint64(b[:8], uint64(s.now().Unix()))
	b[8] = byte(caps)
	rand.Read(b[9:sealedBody])
	copy(b[sealedBody:], mac(s.keys[0], b[:sealedBody], owner))
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Check reports whether id was issued to owner by a holder of one of the
// secrets and has not expired. It returns ErrUnknownSession otherwise.
func (s *Sealer) Check(id, owner string) error {
	_, err := s.Open(id, owner)
	return err
}

// Open checks id like Check and returns the client capabilities sealed
// into it.
func (s *Sealer) Open(id, owner string) (Capabilities, error) {
	issued, caps, ok := Unseal(s.keys, id, owner)
	if !ok {
		return 0, ErrUnknownSession
	}
	if age := s.now().Sub(issued); age > s.ttl || age < -time.Minute {
		return 0, ErrUnknownSession
	}
	return caps, nil
}

// Unseal reads an id sealed for owner with one of keys (Sealer.MACKeys):
// when it was issued and the capabilities sealed into it. ok is false for
// anything else. It does not check the id's age: Sealer.Open does, and so
// does Envoy's fast path (envoy/fastpath), which opens ids itself.
func Unseal(keys [][]byte, id, owner string) (issued time.Time, caps Capabilities, ok bool) {
	raw, found := strings.CutPrefix(id, sealedPrefix)
	if !found || base64.RawURLEncoding.DecodedLen(len(raw)) != sealedBody+sealedMAC {
		return time.Time{}, 0, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(b) != sealedBody+sealedMAC {
		return time.Time{}, 0, false
	}
	valid := false
	for _, k := range keys {
		if hmac.Equal(mac(k, b[:sealedBody], owner), b[sealedBody:]) {
			valid = true
		}
	}
	if !valid {
		return time.Time{}, 0, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0), Capabilities(b[8]), true
}

func mac(key, msg []byte, owner string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	h.Write([]byte(owner))
	return h.Sum(nil)[:sealedMAC]
}
