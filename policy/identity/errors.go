package identity

import "fmt"

// Reasons a request is not authenticated.
const (
	ReasonMissing   = "missing"   // no key header, or an empty one
	ReasonMalformed = "malformed" // the header cannot hold a key
	ReasonUnknown   = "unknown"   // no configured key has this digest
	ReasonBlocked   = "blocked"   // the key or its team is blocked (revoked)
	ReasonExpired   = "expired"   // the key's expires time has passed
)

// AuthError says why a request is not authenticated. Its message is safe
// to show the client: it names the header to use, never a key or what a
// key could access.
type AuthError struct {
	// Reason is one of the Reason constants.
	Reason string
	// Header is the header the key is read from.
	Header string
	// KeyID identifies a known key that was refused (blocked, expired),
	// for logs; "" otherwise.
	KeyID string
}

func (e *AuthError) Error() string {
	switch e.Reason {
	case ReasonMissing:
		return fmt.Sprintf("Authentication required: send a gateway key in the %s header", e.Header)
	case ReasonExpired:
		return "Authentication failed: the gateway key has expired"
	case ReasonBlocked:
		return "Authentication failed: the gateway key has been revoked"
	}
	return "Authentication failed: invalid gateway key"
}

// Presented reports whether the request carried something in the key
// header (so a Bearer challenge says error="invalid_token").
func (e *AuthError) Presented() bool { return e.Reason != ReasonMissing }
