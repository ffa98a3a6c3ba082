package testutil

import (
	"net"
	"strconv"
	"testing"
)

// A picked port is outside Linux's ephemeral range (32768-60999), where a
// port-0 listener or an outgoing connection could take it first, and
// free to bind.
func TestPickPort(t *testing.T) {
	for range 20 {
		p, err := PickPort()
		if err != nil {
			t.Fatal(err)
		}
		if p < pickPortFirst || p >= 32768 {
			t.Fatalf("port %d: want one in [%d, 32768)", p, pickPortFirst)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		l.Close()
	}
}
