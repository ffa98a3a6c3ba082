package namespace

import "testing"

func TestSplit(t *testing.T) {
	reg, err := NewRegistry([]string{"github", "git", "my-server", "my", "a_b"}, "-")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in          string
		alias, name string
		ok          bool
	}{
		{"github-create_issue", "github", "create_issue", true},
		{"git-log", "git", "log", true},
		{"github-get-sum", "github", "get-sum", true}, // upstream name keeps its own separators
		{"my-server-echo", "my-server", "echo", true}, // longest alias wins
		{"my-echo", "my", "echo", true},
		{"a_b-x", "a_b", "x", true},
		{"github-", "", "", false}, // nothing after the prefix
		{"-echo", "", "", false},
		{"unknown-echo", "", "", false},
		{"echo", "", "", false},
		{"GitHub-create_issue", "", "", false}, // aliases are case-sensitive
		{"", "", "", false},
	}
	for _, tt := range tests {
		alias, name, ok := reg.Split(tt.in)
		if alias != tt.alias || name != tt.name || ok != tt.ok {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q, %v", tt.in, alias, name, ok, tt.alias, tt.name, tt.ok)
		}
	}
}

func TestSplitMultiCharSeparator(t *testing.T) {
	reg, err := NewRegistry([]string{"gh", "gh__x"}, "__")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][2]string{
		"gh__list":    {"gh", "list"},
		"gh__x__list": {"gh__x", "list"},
		"gh__a__b":    {"gh", "a__b"},
	} {
		a, n, ok := reg.Split(in)
		if !ok || a != want[0] || n != want[1] {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q", in, a, n, ok, want[0], want[1])
		}
	}
}

func TestPrefixRoundTrip(t *testing.T) {
	reg, _ := NewRegistry([]string{"demo", "x"}, "-")
	for _, alias := range []string{"demo", "x"} {
		for _, name := range []string{"echo", "get-sum", "a.b_c"} {
			a, n, ok := reg.Split(reg.Prefix(alias, name))
			if !ok || a != alias || n != name {
				t.Errorf("round trip %s/%s gave %q %q %v", alias, name, a, n, ok)
			}
		}
	}
}

func TestNewRegistryRejects(t *testing.T) {
	if _, err := NewRegistry([]string{"a", "a"}, "-"); err == nil {
		t.Error("duplicate alias accepted")
	}
	if _, err := NewRegistry([]string{""}, "-"); err == nil {
		t.Error("empty alias accepted")
	}
	if _, err := NewRegistry([]string{"a"}, ""); err == nil {
		t.Error("empty separator accepted")
	}
}

func TestValidName(t *testing.T) {
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'a'
	}
	for in, want := range map[string]bool{
		"echo": true, "get-sum": true, "a.b_C9": true, "": false, "a b": false,
		"a/b": false, "a:b": false, string(long): false, string(long[:128]): true, "é": false,
	} {
		if got := ValidName(in); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"github-x", "my-server-echo", "--", "a-", "-"} {
		f.Add(s)
	}
	reg, _ := NewRegistry([]string{"github", "my-server", "my", "a"}, "-")
	f.Fuzz(func(t *testing.T, s string) {
		alias, name, ok := reg.Split(s)
		if !ok {
			return
		}
		if !reg.Has(alias) || name == "" || reg.Prefix(alias, name) != s {
			t.Fatalf("Split(%q) = %q, %q: not a prefix decomposition", s, alias, name)
		}
	})
}
