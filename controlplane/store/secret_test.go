package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/controlplane"
)

func TestSecrets(t *testing.T) {
	const plaintext = "ghp_plaintext-token-0123456789"
	secret := json.RawMessage(`{"authorization":"Bearer ` + plaintext + `"}`)
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{EncryptionKey: testKey})
		ctx := testContext(t)
		o := obj(controlplane.KindServer, "srv", "github", `{"url":"https://api.example"}`)
		o.Secret = secret
		created, err := s.Create(ctx, o, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if string(created.Secret) != string(secret) {
			t.Errorf("Create returned secret %s", created.Secret)
		}
		mustCreate(t, s, obj(controlplane.KindServer, "plain", "", `{}`))

		raw, d := rawDB(t, url)
		readRaw := func(id string) *string {
			var v *string
			if err := raw.QueryRowContext(ctx, d.q("SELECT secret FROM mcpgw_mcp_servers WHERE id = ?"), id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		stored := readRaw("srv")
		if stored == nil || !strings.HasPrefix(*stored, "v1:") || strings.Contains(*stored, plaintext) || strings.Contains(*stored, "Bearer") {
			t.Fatalf("stored secret = %v, want v1:<base64> without the plaintext", stored)
		}
		if readRaw("plain") != nil {
			t.Error("an object without a secret has a secret column")
		}

		t.Run("round trip", func(t *testing.T) {
			got, err := s.Get(ctx, controlplane.KindServer, "srv")
			if err != nil || string(got.Secret) != string(secret) {
				t.Fatalf("Get = %s, %v", got.Secret, err)
			}
			list, err := s.List(ctx, controlplane.KindServer)
			if err != nil || len(list) != 2 || string(list[1].Secret) != string(secret) || list[0].Secret != nil {
				t.Fatalf("List = %+v, %v", list, err)
			}
			// A fresh nonce each time: the same secret never seals the same.
			got.Doc = json.RawMessage(`{"url":"https://api.example/v2"}`)
			if _, err := s.Update(ctx, got, "bob"); err != nil {
				t.Fatal(err)
			}
			if again := readRaw("srv"); *again == *stored {
				t.Error("re-sealing the same secret gave the same ciphertext")
			}
		})

		t.Run("wrong key", func(t *testing.T) {
			other := open(t, url, Options{EncryptionKey: "another-key"})
			for name, read := range map[string]func() error{
				"Get":  func() error { _, err := other.Get(ctx, controlplane.KindServer, "srv"); return err },
				"List": func() error { _, err := other.List(ctx, controlplane.KindServer); return err },
			} {
				err := read()
				if !errors.Is(err, ErrWrongEncryptionKey) || !strings.Contains(err.Error(), "encryption key does not match") {
					t.Errorf("%s with another key: %v, want ErrWrongEncryptionKey", name, err)
				}
				if err != nil && (strings.Contains(err.Error(), plaintext) || strings.Contains(err.Error(), *stored)) {
					t.Errorf("%s's error shows the secret: %v", name, err)
				}
			}
			if got, err := other.Get(ctx, controlplane.KindServer, "plain"); err != nil || got.Secret != nil {
				t.Errorf("an object without a secret under another key: %+v, %v", got, err)
			}
		})

		t.Run("no key", func(t *testing.T) {
			keyless := open(t, url, Options{})
			o := obj(controlplane.KindServer, "new", "", `{}`)
			o.Secret = secret
			_, err := keyless.Create(ctx, o, "alice")
			if !errors.Is(err, ErrNoEncryptionKey) || !strings.Contains(err.Error(), "LITELLM_SALT_KEY") ||
				!strings.Contains(err.Error(), "gateway.encryption_key") {
				t.Errorf("Create with a secret and no key: %v", err)
			}
			if _, err := keyless.Get(ctx, controlplane.KindServer, "new"); !errors.Is(err, controlplane.ErrNotFound) {
				t.Errorf("the refused object was stored: %v", err)
			}
			if _, err := keyless.Get(ctx, controlplane.KindServer, "srv"); !errors.Is(err, ErrNoEncryptionKey) {
				t.Errorf("reading a secret without a key: %v, want ErrNoEncryptionKey", err)
			}
			if _, err := keyless.Create(ctx, obj(controlplane.KindServer, "new", "", `{}`), "alice"); err != nil {
				t.Errorf("Create without a secret and without a key: %v", err)
			}
		})

		t.Run("moved to another row", func(t *testing.T) {
			// A ciphertext is bound to its kind and id.
			if _, err := raw.ExecContext(ctx, d.q("UPDATE mcpgw_mcp_servers SET secret = ? WHERE id = ?"), *readRaw("srv"), "plain"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, controlplane.KindServer, "plain"); !errors.Is(err, ErrWrongEncryptionKey) {
				t.Errorf("a secret copied to another row opened: %v", err)
			}
		})

		t.Run("cleared", func(t *testing.T) {
			got, err := s.Get(ctx, controlplane.KindServer, "srv")
			if err != nil {
				t.Fatal(err)
			}
			got.Secret = nil
			if _, err := s.Update(ctx, got, "bob"); err != nil {
				t.Fatal(err)
			}
			if readRaw("srv") != nil {
				t.Error("Update with a nil Secret kept the stored one")
			}
		})
	})
}
