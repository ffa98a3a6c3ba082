package router

// decideBody is DecideBody as a test without the headers phase calls it:
// the body phase checks the key, session and scope itself.
func (r *Router) decideBody(h Headers, body []byte) Decision { return r.DecideBody(h, nil, body) }
