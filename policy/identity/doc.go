// Package identity finds who is calling the gateway: it reads the gateway
// key from its request header, hashes it and looks the hash up among the
// configured keys. Keys are never kept in plain text: only their SHA-256
// digests are stored and compared, in constant time.
//
// Both the router (call time, in the ext_proc service) and the sidecar
// (list time) use it, so both see the same principal for a request.
package identity
