package mcptool

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
)

// Mirror keeps what a go-sdk server serves of one kind (tools, prompts,
// resources, templates) equal to what an upstream lists, touching only
// what changed, so clients hear of real changes only.
type Mirror[E any] struct {
	// Key names an item (tool or prompt name, resource URI, template).
	Key func(*E) string
	// Check refuses an item that cannot be served; nil accepts all.
	Check func(*E) error
	// Remove and Add change what the server serves.
	Remove func(keys ...string)
	Add    func(*E) error
	// Skipped is told of every item left out, and why.
	Skipped func(key string, err error)
}

// errListedTwice is why a second item with the same key is skipped.
var errListedTwice = errors.New("listed twice")

// Update serves items in place of served (key → the item's JSON as
// served) and returns what is served now, with how many items were added
// or changed and how many removed.
func (m Mirror[E]) Update(served map[string][]byte, items []*E) (now map[string][]byte, changed, removed int) {
	now = make(map[string][]byte, len(items))
	var added []*E
	for _, it := range items {
		if it == nil {
			continue
		}
		k := m.Key(it)
		err := errListedTwice
		if _, dup := now[k]; !dup {
			err = nil
			if m.Check != nil {
				err = m.Check(it)
			}
		}
		var data []byte
		if err == nil {
			data, err = json.Marshal(it)
		}
		if err != nil {
			m.Skipped(k, err)
			continue
		}
		now[k] = data
		if !bytes.Equal(served[k], data) {
			added = append(added, it)
		}
	}
	var gone []string
	for k := range served {
		if _, ok := now[k]; !ok {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		m.Remove(gone...)
	}
	for _, it := range added {
		if err := m.Add(it); err != nil {
			k := m.Key(it)
			m.Skipped(k, err)
			delete(now, k)
			m.Remove(k) // in case an older version was served
		}
	}
	return now, len(added), len(gone)
}
