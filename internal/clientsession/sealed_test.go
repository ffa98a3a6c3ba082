package clientsession

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	secretA = strings.Repeat("a", 32)
	secretB = strings.Repeat("b", 32)
)

func TestSealedIDs(t *testing.T) {
	a, _ := NewSealer([]string{secretA}, time.Hour)
	replica, _ := NewSealer([]string{secretA}, time.Hour)
	rotated, _ := NewSealer([]string{secretB, secretA}, time.Hour)
	other, _ := NewSealer([]string{secretB}, time.Hour)
	random, _ := NewSealer(nil, time.Hour)

	id := a.New(0, "owner-a")
	if id == a.New(0, "owner-a") {
		t.Fatal("two ids are equal")
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			t.Fatalf("id %q has a character outside visible ASCII", id)
		}
	}
	tests := []struct {
		name  string
		s     *Sealer
		id    string
		owner string
		valid bool
	}{
		{"issuer", a, id, "owner-a", true},
		{"another replica with the secret", replica, id, "owner-a", true},
		{"after rotation", rotated, id, "owner-a", true},
		{"another key presents it", a, id, "owner-b", false},
		{"no key presents it", a, id, "", false},
		{"id of the open gateway", a, a.New(0, ""), "", true},
		{"id of the open gateway, presented with a key", a, a.New(0, ""), "owner-a", false},
		{"id sealed with a secret this replica lacks", a, rotated.New(0, "owner-a"), "owner-a", false},
		{"other secret", other, id, "owner-a", false},
		{"random key", random, id, "owner-a", false},
		{"tampered", a, id[:len(id)-2] + "AA", "owner-a", false},
		{"truncated", a, id[:20], "owner-a", false},
		{"empty", a, "", "owner-a", false},
		{"garbage", a, "mcpgw1_!!!!", "owner-a", false},
		{"foreign", a, "9f0c1e9e-uuid", "owner-a", false},
	}
	for _, tt := range tests {
		err := tt.s.Check(tt.id, tt.owner)
		if (err == nil) != tt.valid || (err != nil && !errors.Is(err, ErrUnknownSession)) {
			t.Errorf("%s: Check = %v, want valid=%v", tt.name, err, tt.valid)
		}
	}
}

func TestSealedIDsExpire(t *testing.T) {
	s, _ := NewSealer([]string{secretA}, time.Hour)
	now := time.Now()
	s.now = func() time.Time { return now }
	id := s.New(0, "o")
	s.now = func() time.Time { return now.Add(59 * time.Minute) }
	if err := s.Check(id, "o"); err != nil {
		t.Fatalf("fresh id rejected: %v", err)
	}
	s.now = func() time.Time { return now.Add(61 * time.Minute) }
	if err := s.Check(id, "o"); err == nil {
		t.Fatal("expired id accepted")
	}
}

func FuzzCheck(f *testing.F) {
	s, _ := NewSealer([]string{secretA}, time.Hour)
	f.Add(s.New(0, ""))
	f.Add("mcpgw1_")
	f.Fuzz(func(t *testing.T, id string) {
		_ = s.Check(id, "") // must not panic
	})
}

func TestSealedCapabilities(t *testing.T) {
	s, _ := NewSealer([]string{secretA}, time.Hour)
	caps := CapElicitationForm | CapSampling
	got, err := s.Open(s.New(caps, "o"), "o")
	if err != nil || got != caps {
		t.Fatalf("Open = %v, %v; want %v", got, err, caps)
	}
}

func TestCapabilitiesOf(t *testing.T) {
	for body, want := range map[string]Capabilities{
		`{"params":{"capabilities":{}}}`:                                           0,
		`{"params":{"capabilities":{"elicitation":{}}}}`:                           CapElicitationForm,
		`{"params":{"capabilities":{"elicitation":{"url":{}}}}}`:                   CapElicitationURL,
		`{"params":{"capabilities":{"elicitation":{"form":{},"url":{}}}}}`:         CapElicitationForm | CapElicitationURL,
		`{"params":{"capabilities":{"sampling":{},"roots":{"listChanged":true}}}}`: CapSampling | CapRoots,
		`not json`: 0,
	} {
		if got := CapabilitiesOf([]byte(body)); got != want {
			t.Errorf("CapabilitiesOf(%s) = %v, want %v", body, got, want)
		}
	}
}

// Replicas with the same secrets sign relayed request ids alike; the keys
// are not the session keys, and differ without secrets.
func TestRelayKeys(t *testing.T) {
	a, _ := NewSealer([]string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}, time.Hour)
	b, _ := NewSealer([]string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}, time.Hour)
	if len(a.RelayKeys()) != 2 || !bytes.Equal(a.RelayKeys()[0], b.RelayKeys()[0]) || bytes.Equal(a.RelayKeys()[0], a.keys[0]) {
		t.Fatal("relay keys are not derived from the secrets, apart from the session keys")
	}
	c, _ := NewSealer(nil, time.Hour)
	d, _ := NewSealer(nil, time.Hour)
	if len(c.RelayKeys()) != 1 || bytes.Equal(c.RelayKeys()[0], d.RelayKeys()[0]) {
		t.Fatal("without secrets each process needs a random relay key")
	}
}
