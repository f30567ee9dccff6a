package onion

import "net/http"

// Middleware is a layer of the chained onion: it takes the handler it
// wraps (next) and returns a handler that does its work around a call to
// next.ServeHTTP. Not calling next stops the request there.
type Middleware func(next http.Handler) http.Handler

// Chain is a list of middleware, outermost first.
//
// Compose it once, at start-up, with Then: a chain built inside a handler
// would allocate every layer again on every request.
type Chain []Middleware

// Then wraps h in the chain's layers: Chain{a, b}.Then(h) is a(b(h)), so a
// request meets a first and the response leaves through a last.
func (c Chain) Then(h http.Handler) http.Handler {
	for i := len(c) - 1; i >= 0; i-- {
		h = c[i](h)
	}
	return h
}

// Append returns a new chain of c's layers followed by more. It never
// writes into c's array, so two chains appended to the same base stay
// independent.
func (c Chain) Append(more ...Middleware) Chain {
	out := make(Chain, 0, len(c)+len(more))
	return append(append(out, c...), more...)
}
