package stdio

import (
	"bytes"
	"log/slog"
	"sync"
)

// maxStderrLine bounds one logged line; longer lines are cut.
const maxStderrLine = 8 << 10

// lineLogger logs a child's stderr, one record per line, tagged with the
// server's alias and the process id (in log).
type lineLogger struct {
	log *slog.Logger

	mu  sync.Mutex
	buf []byte
	cut bool // the current line was too long and is being dropped
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.add(p)
			break
		}
		l.add(p[:i])
		l.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineLogger) add(p []byte) {
	if room := maxStderrLine - len(l.buf); len(p) > room {
		p = p[:max(room, 0)]
		l.cut = true
	}
	l.buf = append(l.buf, p...)
}

func (l *lineLogger) emit() {
	line := string(bytes.TrimRight(l.buf, "\r"))
	if l.cut {
		line += " [line cut]"
	}
	l.buf, l.cut = l.buf[:0], false
	if line != "" {
		l.log.Info("stdio server stderr", "line", line)
	}
}

// flush logs a last line without a newline.
func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit()
	}
}
