package stdio

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

func TestChildEnv(t *testing.T) {
	gw := map[string]string{"PATH": "/bin", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x", "LANG": "C.UTF-8"}
	got := childEnv(map[string]string{"TOKEN": "t", "HOME": "/srv"}, func(n string) (string, bool) { v, ok := gw[n]; return v, ok })
	want := []string{"HOME=/srv", "LANG=C.UTF-8", "PATH=/bin", "TOKEN=t"}
	if !slices.Equal(got, want) {
		t.Fatalf("childEnv = %v, want %v", got, want)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "srv")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644)
	tests := []struct {
		cmd, path, dir, want, err string
	}{
		{"srv", "/nonexistent:" + dir, "", exe, ""},
		{"srv", "/nonexistent", "", "", `command "srv" not found in PATH`},
		{"plain", dir, "", "", `command "plain" not found in PATH`},
		{"./srv", "", dir, "./srv", ""},
		{"./nope", "", dir, "", `command "./nope": no such file`},
		{exe, "", "", exe, ""},
	}
	for _, tt := range tests {
		got, err := lookPath(tt.cmd, tt.path, tt.dir)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("lookPath(%q, %q, %q) = %q, %v; want %q, %q", tt.cmd, tt.path, tt.dir, got, err, tt.want, tt.err)
		}
	}
}

func TestLineLogger(t *testing.T) {
	var buf testutil.SyncBuffer
	l := &lineLogger{log: newTextLogger(&buf)}
	l.Write([]byte("one\ntw"))
	l.Write([]byte("o\r\n" + strings.Repeat("x", maxStderrLine+10) + "\nlast"))
	l.flush()
	out := buf.String()
	for _, want := range []string{`line=one`, `line=two`, `[line cut]`, `line=last`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%.300s", want, out)
		}
	}
}
