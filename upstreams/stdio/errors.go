package stdio

import (
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned once the Server is closed.
var ErrClosed = errors.New("stdio server closed")

// ErrTooManyProcesses is returned (wrapped) in per-session mode when
// MaxProcesses processes are running and all of them are busy.
var ErrTooManyProcesses = errors.New("too many processes")

// UnavailableError is returned while a process cannot serve: it crashed
// or failed to start, and the next attempt waits for the backoff.
type UnavailableError struct {
	Alias   string
	Cause   string        // what happened, e.g. "exited: exit status 1"
	RetryIn time.Duration // until the next start attempt
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("stdio server %s is unavailable (%s); restarting in %s",
		e.Alias, e.Cause, max(e.RetryIn, 100*time.Millisecond).Round(100*time.Millisecond))
}

// ExitedError is returned when the process exited while a request was
// in flight: the request may or may not have been carried out.
type ExitedError struct {
	Alias string
	Cause string // e.g. "exited: signal: killed"
}

func (e *ExitedError) Error() string {
	return fmt.Sprintf("stdio server %s %s during the request", e.Alias, e.Cause)
}
