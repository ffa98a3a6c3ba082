package stdio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// BaseEnvNames are the variables a child inherits from the gateway (when
// set there): what programs need to find binaries, a home directory, a
// temp directory and the locale. Everything else must be configured in
// env. On Windows the system variables programs need are added.
func BaseEnvNames() []string {
	return []string{
		"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ",
		"LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
		// Windows.
		"SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP",
		"USERPROFILE", "APPDATA", "LOCALAPPDATA", "PROGRAMDATA",
	}
}

// childEnv is the child's environment: the base variables from lookup,
// then env, which wins. The result is sorted, for stable tests.
func childEnv(env map[string]string, lookup func(string) (string, bool)) []string {
	m := make(map[string]string, len(env)+8)
	for _, name := range BaseEnvNames() {
		if v, ok := lookup(name); ok {
			m[name] = v
		}
	}
	for k, v := range env {
		m[k] = v
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// envValue returns name's value in env (KEY=VALUE entries).
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// FindCommand finds command as a stdio server's process is started: a bare
// name in the child's PATH (env's PATH, else the gateway's from lookup), a
// name with a path separator relative to dir. It is what `mcpgw validate`
// checks before the gateway runs the command.
func FindCommand(command string, env map[string]string, dir string, lookup func(string) (string, bool)) (string, error) {
	return lookPath(command, envValue(childEnv(env, lookup), "PATH"), dir)
}

// lookPath finds command the way the child's shell would: a name with a
// path separator is used as is (relative to dir), a bare name is searched
// in the child's PATH, not the gateway's.
func lookPath(command, pathList, dir string) (string, error) {
	if strings.ContainsRune(command, filepath.Separator) || strings.ContainsRune(command, '/') {
		p := command
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", fmt.Errorf("command %q: %w", command, err)
		}
		return command, nil
	}
	for _, d := range filepath.SplitList(pathList) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, command)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH", command)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("no such file")
		}
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode()&0o111 == 0 {
		return errors.New("not executable")
	}
	return nil
}
