package aggregate

import (
	"fmt"
	"sync"
)

// notifier fans list_changed notifications out to the clients' GET event
// streams. A slow stream drops notifications rather than blocking: they
// only tell the client to list again, so one pending is as good as many.
type notifier struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

func newNotifier() *notifier { return &notifier{subs: map[chan []byte]struct{}{}} }

// subscribe returns a channel of notification messages (JSON-RPC).
func (n *notifier) subscribe() chan []byte {
	ch := make(chan []byte, 8)
	n.mu.Lock()
	n.subs[ch] = struct{}{}
	n.mu.Unlock()
	return ch
}

func (n *notifier) unsubscribe(ch chan []byte) {
	n.mu.Lock()
	delete(n.subs, ch)
	n.mu.Unlock()
}

// publish sends a notification method (e.g. notifications/tools/list_changed)
// to every stream.
func (n *notifier) publish(method string) {
	msg := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","method":%q}`, method))
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- msg:
		default:
		}
	}
}
