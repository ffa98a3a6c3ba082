// Package clientsession issues and checks the gateway's client session
// ids: sealed (HMAC) rather than stored, bound to the key that opened them,
// carrying the capabilities the client declared. Any replica with the same
// secrets opens any id; nothing is shared between replicas.
package clientsession
