package sidecar

import "sync"

// notifier fans list_changed notifications out to the clients' GET event
// streams. A slow stream drops notifications rather than blocking: they
// only tell the client to list again, so one pending is as good as many.
type notifier struct {
	mu   sync.Mutex
	subs map[chan string]struct{}
}

func newNotifier() *notifier { return &notifier{subs: map[chan string]struct{}{}} }

func (n *notifier) subscribe() chan string {
	ch := make(chan string, 8)
	n.mu.Lock()
	n.subs[ch] = struct{}{}
	n.mu.Unlock()
	return ch
}

func (n *notifier) unsubscribe(ch chan string) {
	n.mu.Lock()
	delete(n.subs, ch)
	n.mu.Unlock()
}

// publish sends a notification method (e.g. notifications/tools/list_changed)
// to every stream.
func (n *notifier) publish(method string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- method:
		default:
		}
	}
}
