package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/mcpgw/mcpgw/controlplane"
)

// Errors about secrets, wrapped with the object they concern.
var (
	// ErrNoEncryptionKey: a secret is to be written or read and no
	// Options.EncryptionKey was given.
	ErrNoEncryptionKey = errors.New("no encryption key is set: set LITELLM_SALT_KEY or gateway.encryption_key")
	// ErrWrongEncryptionKey: a stored secret does not open with the key given.
	ErrWrongEncryptionKey = errors.New("the encryption key does not match the one the secret was written with (LITELLM_SALT_KEY or gateway.encryption_key)")
)

const (
	secretPrefix = "v1:"
	// hkdfInfo separates this key from anything else derived from the same
	// string (LiteLLM uses LITELLM_SALT_KEY for its own encryption).
	hkdfInfo = "mcpgw store secret v1"
)

// newAEAD derives the AES-256-GCM cipher from key, or returns nil for "".
func newAEAD(key string) (cipher.AEAD, error) {
	if key == "" {
		return nil, nil
	}
	k, err := hkdf.Key(sha256.New, []byte(key), nil, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving the encryption key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// additionalData binds a ciphertext to its row.
func additionalData(kind controlplane.Kind, id string) []byte {
	return []byte(string(kind) + "\x00" + id)
}

// seal encrypts a secret for storage; nil stays nil (SQL NULL).
func (s *Store) seal(kind controlplane.Kind, id string, secret []byte) (*string, error) {
	if secret == nil {
		return nil, nil
	}
	if s.aead == nil {
		return nil, fmt.Errorf("storing the secret of %s %q: %w", kind, id, ErrNoEncryptionKey)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	blob := s.aead.Seal(nonce, nonce, secret, additionalData(kind, id))
	v := secretPrefix + base64.StdEncoding.EncodeToString(blob)
	return &v, nil
}

// open decrypts a stored secret. Its errors never include the data.
func (s *Store) open(kind controlplane.Kind, id string, stored string) ([]byte, error) {
	if s.aead == nil {
		return nil, fmt.Errorf("the secret of %s %q is encrypted and %w", kind, id, ErrNoEncryptionKey)
	}
	enc, ok := strings.CutPrefix(stored, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("the secret of %s %q is in an unknown format", kind, id)
	}
	blob, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(blob) < s.aead.NonceSize() {
		return nil, fmt.Errorf("the secret of %s %q is damaged", kind, id)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, blob[:n], blob[n:], additionalData(kind, id))
	if err != nil {
		return nil, fmt.Errorf("the secret of %s %q: %w", kind, id, ErrWrongEncryptionKey)
	}
	return plain, nil
}
