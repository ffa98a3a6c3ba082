package store

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Changed returns a channel that receives soon after any process writes,
// until ctx ends or the Store closes; then it is closed. A receive means
// "read the revision again". The channel holds one pending receive;
// more writes before the reader comes back merge into it.
//
// Each call polls the revision on its own (every PollInterval on SQLite,
// 4×PollInterval on PostgreSQL) and sends when it differs from the last one
// seen, which is read before Changed returns: a write after Changed
// returned is never missed. On PostgreSQL a NOTIFY wakes it at once. It
// also sends when reading the revision starts failing and when it works
// again, so that a reader hears of an outage and of its end.
func (s *Store) Changed(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	last, err := s.Revision(ctx)
	if err != nil {
		last = -1 // the first revision read successfully is news
	}
	wake := make(chan struct{}, 1)

	s.mu.Lock()
	if s.closed || ctx.Err() != nil {
		s.mu.Unlock()
		close(out)
		return out
	}
	interval := s.poll
	if s.d == postgresDialect {
		s.subs[wake] = struct{}{}
		interval = 4 * s.poll
		if !s.listening {
			s.listening = true
			s.background.Add(1)
			go s.listen()
		}
	}
	s.background.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.background.Done()
		defer close(out)
		defer func() {
			s.mu.Lock()
			delete(s.subs, wake)
			s.mu.Unlock()
		}()
		// Reads end at ctx's end or the Store's Close, whichever is first.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(s.ctx, cancel)
		defer stop()

		send := func() {
			select {
			case out <- struct{}{}:
			default: // one pending receive says it all
			}
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			case <-tick.C:
			}
			rev, err := s.Revision(ctx)
			if ctx.Err() != nil {
				return
			}
			// Besides a new revision, the start and the end of an outage
			// are news: a reader then finds out that the store cannot be
			// read, and reads again once it can (it may have failed to
			// read meanwhile, and nothing else would tell it to retry when
			// the revision did not move).
			if err != nil {
				if !failing {
					s.log.Warn("store: reading the revision failed; retrying", "err", err)
					failing = true
					send()
				}
				continue
			}
			if failing || rev != last {
				if failing {
					s.log.Info("store: reading the revision works again")
					failing = false
				}
				last = rev
				send()
			}
		}
	}()
	return out
}

// wakeAll makes every Changed poller read the revision now.
func (s *Store) wakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.subs {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// listen keeps a dedicated connection LISTENing on the change channel
// until Close, reconnecting with backoff when it is lost. Each
// notification, and each (re)connection (which may have missed some),
// wakes the pollers.
func (s *Store) listen() {
	defer s.background.Done()
	const (
		minBackoff = 100 * time.Millisecond
		maxBackoff = 10 * time.Second
	)
	backoff := minBackoff
	for {
		connected, err := s.listenOnce()
		if s.ctx.Err() != nil {
			return
		}
		if connected {
			backoff = minBackoff
		}
		s.log.Warn("store: the LISTEN connection failed; polling until it is back", "err", s.cause(err), "retry_in", backoff)
		// Half to all of backoff, so that replicas do not reconnect in step.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, listens and waits for notifications until the
// connection fails or the Store closes.
func (s *Store) listenOnce() (connected bool, err error) {
	conn, err := pgx.ConnectConfig(s.ctx, s.pgConfig.Copy())
	if err != nil {
		return false, err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(ctx)
	}()
	if _, err := conn.Exec(s.ctx, "LISTEN "+notifyChannel); err != nil {
		return false, err
	}
	s.wakeAll()
	for {
		if _, err := conn.WaitForNotification(s.ctx); err != nil {
			return true, err
		}
		s.wakeAll()
	}
}
