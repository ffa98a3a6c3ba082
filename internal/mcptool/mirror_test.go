package mcptool

import (
	"errors"
	"slices"
	"testing"
)

type item struct{ Name, V string }

// Only what changed is removed or added; items a check or the server
// refuses, or that come twice, are skipped and said so.
func TestMirrorUpdate(t *testing.T) {
	var added, removed, skipped []string
	m := Mirror[item]{
		Key: func(i *item) string { return i.Name },
		Check: func(i *item) error {
			if i.Name == "" {
				return errors.New("no name")
			}
			return nil
		},
		Remove: func(keys ...string) { removed = append(removed, keys...) },
		Add: func(i *item) error {
			if i.V == "reject" {
				return errors.New("rejected")
			}
			added = append(added, i.Name)
			return nil
		},
		Skipped: func(k string, err error) { skipped = append(skipped, k+": "+err.Error()) },
	}
	served, n, gone := m.Update(nil, []*item{{"a", "1"}, {"b", "1"}, {"c", "1"}})
	if n != 3 || gone != 0 || len(served) != 3 {
		t.Fatalf("first update: %d added, %d removed, %v", n, gone, served)
	}
	added, removed = nil, nil
	served, n, gone = m.Update(served, []*item{{"a", "1"}, {"b", "2"}, {"b", "3"}, {"", "x"}, {"d", "reject"}, nil})
	if !slices.Equal(added, []string{"b"}) || !slices.Equal(removed, []string{"c", "d"}) || n != 2 || gone != 1 {
		t.Fatalf("second update: added %v removed %v (%d, %d)", added, removed, n, gone)
	}
	if !slices.Equal(skipped, []string{"b: listed twice", ": no name", "d: rejected"}) {
		t.Fatalf("skipped %q", skipped)
	}
	if _, ok := served["d"]; ok || len(served) != 2 {
		t.Fatalf("served %v", served)
	}
}
