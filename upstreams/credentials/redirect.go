package credentials

import (
	"errors"
	"net/http"
)

// SameHostRedirects is an http.Client CheckRedirect for clients that
// carry a server's credentials: a redirect to another host (or scheme, or
// port) is not followed, the redirect itself is the answer. Go drops only
// Authorization and Cookie on such hops; custom credential headers, and
// headers a transport adds on every hop, would go along.
func SameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return http.ErrUseLastResponse
	}
	return nil
}
