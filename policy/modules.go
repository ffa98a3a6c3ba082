package policy

import (
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// shipped is the default policy. Its tests (*_test.rego) run with opa test.
//
//go:embed authz.rego decision.rego params.rego
var shipped embed.FS

// shippedModules is how many modules the shipped policy has (modules
// returns them first).
const shippedModules = 3

// maxPolicyFile bounds one policy file.
const maxPolicyFile = 4 << 20

// Problem is one error in a policy file, with its place.
type Problem struct {
	File    string
	Line    int // 0 when unknown
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Problems is every error found loading or compiling the policy.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return "policy: " + strings.Join(lines, "\n")
}

// modules parses the shipped policy and the .rego files of dir (walked
// recursively, *_test.rego skipped; "" for none), in a stable order.
func modules(dir string) ([]*ast.Module, error) {
	var out []*ast.Module
	var problems Problems
	entries, _ := fs.ReadDir(shipped, ".")
	for _, e := range entries {
		src, err := fs.ReadFile(shipped, e.Name())
		if err != nil {
			return nil, fmt.Errorf("policy: read shipped %s: %w", e.Name(), err)
		}
		m, ps := parse("policy/"+e.Name(), src)
		problems = append(problems, ps...)
		out = append(out, m)
	}
	if dir != "" {
		files, err := regoFiles(dir)
		if err != nil {
			return nil, Problems{{File: dir, Message: "access.policy_dir: " + err.Error()}}
		}
		for _, f := range files {
			src, err := readFile(f)
			if err != nil {
				problems = append(problems, Problem{File: f, Message: err.Error()})
				continue
			}
			m, ps := parse(f, src)
			problems = append(problems, ps...)
			if m != nil {
				out = append(out, m)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// regoFiles lists dir's policy files, sorted.
func regoFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".rego") && !strings.HasSuffix(path, "_test.rego") {
			files = append(files, path)
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

func readFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxPolicyFile {
		return nil, fmt.Errorf("larger than %d bytes", maxPolicyFile)
	}
	return os.ReadFile(path)
}

func parse(file string, src []byte) (*ast.Module, Problems) {
	m, err := ast.ParseModuleWithOpts(file, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, problemsOf(err, file)
	}
	return m, nil
}

// problemsOf turns OPA's errors (parse, compile) into Problems with the
// file and line each one is about.
func problemsOf(err error, file string) Problems {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return Problems{{File: file, Message: err.Error()}}
	}
	var ps Problems
	for _, e := range errs {
		p := Problem{File: file, Message: e.Message}
		if e.Location != nil {
			if e.Location.File != "" {
				p.File = e.Location.File
			}
			p.Line = e.Location.Row
		}
		if e.Code != "" {
			p.Message = e.Code + ": " + e.Message
		}
		ps = append(ps, p)
	}
	return ps
}

// Fingerprint hashes every policy file (*.rego) in dir, so any edit, even
// one that keeps size and time, is noticed by whoever watches the
// directory (the gateway's config watch). Missing files hash as absent; ""
// hashes as nothing. It reads only the policy files, never the config.
func Fingerprint(dir string) [sha256.Size]byte {
	h := sha256.New()
	if dir != "" {
		files, err := regoFiles(dir)
		if err != nil {
			h.Write([]byte("unreadable"))
		}
		for _, path := range files {
			h.Write([]byte(path))
			h.Write([]byte{0})
			if f, err := os.Open(path); err == nil {
				io.Copy(h, io.LimitReader(f, maxPolicyFile+1))
				f.Close()
			}
			h.Write([]byte{0})
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
