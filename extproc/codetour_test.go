package extproc

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCodeTourIsCurrent keeps docs/code-tour.md from going stale: every
// file it names exists, every function named right after a file (`f.go`
// `Type.Method`, `Func`) is declared in that file, every file in its
// helper lists exists in the package the list names, and its links lead
// somewhere.
func TestCodeTourIsCurrent(t *testing.T) {
	root := ".."
	doc, err := os.ReadFile(filepath.Join(root, "docs", "code-tour.md"))
	if err != nil {
		t.Fatal(err)
	}
	fileRef := regexp.MustCompile("`((?:[\\w.-]+/)+[\\w.-]+\\.(?:go|rego|txtar))`((?:,?\\s+`[A-Za-z_][\\w.]*`)*)")
	funcRef := regexp.MustCompile("`([A-Za-z_][\\w.]*)`")
	files, funcs := 0, 0
	for _, m := range fileRef.FindAllSubmatch(doc, -1) {
		path := string(m[1])
		src, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("the tour names %s, which does not exist", path)
			continue
		}
		files++
		for _, f := range funcRef.FindAllSubmatch(m[2], -1) {
			name := string(f[1])
			if !declares(src, name) {
				t.Errorf("the tour names %s in %s, which does not declare it", name, path)
			}
			funcs++
		}
	}

	// "- **`pkg`**: `a.go`, `b.go`." with continuation lines indented.
	helpers := regexp.MustCompile("(?m)^- \\*\\*`([\\w/]+)`\\*\\*:((?:.|\\n  )*)")
	goFile := regexp.MustCompile("`([\\w.-]+\\.go)`")
	for _, m := range helpers.FindAllSubmatch(doc, -1) {
		for _, f := range goFile.FindAllSubmatch(m[2], -1) {
			path := filepath.Join(string(m[1]), string(f[1]))
			if _, err := os.Stat(filepath.Join(root, path)); err != nil {
				t.Errorf("the tour lists helper %s, which does not exist", path)
			}
			files++
		}
	}

	link := regexp.MustCompile(`\]\(([^)#\s]+)`)
	for _, m := range link.FindAllSubmatch(doc, -1) {
		target := string(m[1])
		if strings.Contains(target, "://") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "docs", target)); err != nil {
			t.Errorf("the tour links %s, which does not exist", target)
		}
	}
	// A pattern that stopped matching would pass every tour.
	if files < 40 || funcs < 20 {
		t.Errorf("found %d file and %d function references in the tour; expected at least 40 and 20 (did its format change?)", files, funcs)
	}
}

// declares reports whether Go source src declares function name ("F") or
// method name ("T.M").
func declares(src []byte, name string) bool {
	pattern := `(?m)^func ` + regexp.QuoteMeta(name) + `[(\[]`
	if typ, method, ok := strings.Cut(name, "."); ok {
		pattern = `(?m)^func \(\w+ \*?` + regexp.QuoteMeta(typ) + `(?:\[[^\]]*\])?\) ` + regexp.QuoteMeta(method) + `[(\[]`
	}
	return regexp.MustCompile(pattern).Match(src)
}
