package policy

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzArgumentNames feeds tool arguments as a client sends them: names
// come out once each, in the order sent, and are exactly the object's
// keys; anything but an object is refused.
func FuzzArgumentNames(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":{"c":[1,2]},"a":3}`, `[1]`, `{"a":`, `"x"`, `{"\u00e9":null}`,
		` { "a" : "}" , "b\"" : [ "]" , { } ] , "c" : -1.5e3 } `, "{\"\xff\":1}", `{"a":1}x`, `{"a":{"b":"\\"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		names, err := argumentNames(raw)
		want, wantErr := namesByDecoder(raw)
		if (err == nil) != (wantErr == nil) || !slices.Equal(names, want) {
			t.Fatalf("%q: got %q, %v; encoding/json reads %q, %v", raw, names, err, want, wantErr)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return // not an object: refused here, or by the full parse in input()
		}
		if err != nil {
			t.Fatalf("refused an object: %s: %v", raw, err)
		}
		if len(names) != len(obj) {
			t.Fatalf("%s: names %q, keys %d", raw, names, len(obj))
		}
		seen := map[string]bool{}
		for _, n := range names {
			if _, ok := obj[n]; !ok || seen[n] {
				t.Fatalf("%s: names %q", raw, names)
			}
			seen[n] = true
		}
	})
}

// namesByDecoder is argumentNames done with encoding/json's tokens: what
// the fast walk must agree with.
func namesByDecoder(raw []byte) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errArguments
	}
	if !json.Valid(raw) {
		return nil, errArguments
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
		if name := tok.(string); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

func TestArgumentNamesOrder(t *testing.T) {
	names, err := argumentNames([]byte(`{"z":1,"a":{"n":2},"z":3,"m":[]}`))
	if err != nil || !slices.Equal(names, []string{"z", "a", "m"}) {
		t.Fatalf("got %q %v", names, err)
	}
	for _, bad := range []string{`[]`, `"s"`, `{"a":`, ``} {
		if _, err := argumentNames([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestArgumentNamesIncomplete(t *testing.T) {
	for _, bad := range []string{`{"a":1`, `{"a":1,`, `{`} {
		if _, err := argumentNames([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
