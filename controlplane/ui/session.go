package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// session is one browser's state, kept in memory only. A session starts
// anonymous (GET /ui/login makes one, so the login form has a CSRF token
// too) and becomes signed in when the login succeeds, under a new id.
type session struct {
	id   string
	csrf string
	// key is the key the user signed in with: the UI calls the admin API
	// with it, so the API decides what the user may do. It lives only in
	// this process's memory: never in a cookie, a page or a URL.
	key     string
	expires time.Time
	// flash is a one-time message for the next page (after a redirect).
	flash string
	// tryKey is the gateway key the Try-it page calls tools with (kept
	// like key: memory only).
	tryKey string
}

func (s *session) signedIn() bool { return s.key != "" }

// sessions is the in-memory session table. Sessions expire after their
// lifetime (idle or not) and are dropped on the next access; the table
// is bounded, evicting the session closest to expiry when full, so
// anonymous login pages cannot grow it without end.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	max  int
	now  func() time.Time
}

func newSessions(max int, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, max: max, now: now}
}

// randomToken returns 32 random bytes, base64url: session ids and CSRF
// tokens.
func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create makes a session lasting ttl.
func (t *sessions) create(key string, ttl time.Duration) *session {
	s := &session{id: randomToken(), csrf: randomToken(), key: key, expires: t.now().Add(ttl)}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep()
	if len(t.byID) >= t.max {
		var oldest *session
		for _, o := range t.byID {
			if oldest == nil || o.expires.Before(oldest.expires) {
				oldest = o
			}
		}
		delete(t.byID, oldest.id)
	}
	t.byID[s.id] = s
	return s
}

// get returns a copy of the live session with id, or nil.
func (t *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	if !ok {
		return nil
	}
	if !t.now().Before(s.expires) {
		delete(t.byID, id)
		return nil
	}
	c := *s
	return &c
}

// takeFlash returns and clears the session's flash message.
func (t *sessions) takeFlash(id string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	if !ok {
		return ""
	}
	f := s.flash
	s.flash = ""
	return f
}

func (t *sessions) setFlash(id, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.byID[id]; ok {
		s.flash = msg
	}
}

func (t *sessions) delete(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byID, id)
}

// sweep drops expired sessions; t.mu is held.
func (t *sessions) sweep() {
	now := t.now()
	for id, s := range t.byID {
		if !now.Before(s.expires) {
			delete(t.byID, id)
		}
	}
}

// validCSRF compares a submitted token with the session's in constant
// time.
func validCSRF(s *session, token string) bool {
	return s != nil && token != "" && subtle.ConstantTimeCompare([]byte(s.csrf), []byte(token)) == 1
}
