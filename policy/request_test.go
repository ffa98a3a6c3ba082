package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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
		if errors.Is(err, errArgumentLimit) {
			if !overLimits(raw) {
				t.Fatalf("%q refused for a limit it is within: %v", raw, err)
			}
			return
		}
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

// overLimits reports, with encoding/json's tokens, whether an object has
// more than MaxArgumentNames members or a name longer (as sent) than
// MaxArgumentNameBytes.
func overLimits(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimSpace(raw)))
	if _, err := dec.Token(); err != nil {
		return false
	}
	for n := 1; dec.More(); n++ {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		lit := bytes.TrimLeft(bytes.TrimSpace(raw)[start:dec.InputOffset()], " \t\r\n,")
		if _, ok := tok.(string); ok && (n > MaxArgumentNames || len(lit)-2 > MaxArgumentNameBytes) {
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
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

// argsWith is an arguments object of n members named p0, p1, ... of the
// given length (padded with x).
func argsWith(n, nameLen int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		name := fmt.Sprintf("p%d", i)
		name += strings.Repeat("x", max(0, nameLen-len(name)))
		fmt.Fprintf(&b, "%q:1", name)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func TestArgumentLimits(t *testing.T) {
	for _, tt := range []struct {
		name    string
		raw     []byte
		limited bool
	}{
		{"at the name count limit", argsWith(MaxArgumentNames, 8), false},
		{"one name over", argsWith(MaxArgumentNames+1, 8), true},
		{"85,000 names", argsWith(85000, 6), true},
		{"the same name over and over counts each time", []byte(`{` + strings.Repeat(`"a":1,`, MaxArgumentNames) + `"a":2}`), true},
		{"a name at the length limit", argsWith(1, MaxArgumentNameBytes), false},
		{"a name over it", argsWith(1, MaxArgumentNameBytes+1), true},
		{"escapes count as sent", []byte(`{"` + strings.Repeat(`\u0061`, MaxArgumentNameBytes/6+1) + `":1}`), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := argumentNames(tt.raw)
			if got := errors.Is(err, errArgumentLimit); got != tt.limited {
				t.Fatalf("limited = %v (%v), want %v", got, err, tt.limited)
			}
			if tt.limited != overLimits(tt.raw) {
				t.Fatalf("overLimits disagrees")
			}
		})
	}
}
