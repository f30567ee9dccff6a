// Package exercise holds the exercises of the chapter's part 2, the full
// gateway. Each starting point below compiles but does not do its job
// yet; do it, then check your work with
//
//	go test -tags exercise ./06-middleware/gateway/exercise
//
// which fails until every exercise is done (-run Register, say, checks
// one). The checks are in check.go; the course's own answers pass them
// (answers_test.go), so every check can be passed.
package exercise

import "github.com/gocourse/gateway/06-middleware/gateway"

// Exercise 1. Register adds to reg a middleware called "add-header" that
// sets one header on every response. A route uses it as
//
//	middleware:
//	  - name: add-header
//	    header: X-Course
//	    value: "06"
//
// header is required: a file that leaves it out must be rejected when it
// is loaded (give the options a Check method), and so must one with an
// option the middleware does not know. Hint: one call of gateway.Register.
func Register(reg *gateway.Registry) {
	// TODO: your code here
}

// Exercise 2. ShopFile is a configuration file for a small shop; write
// it. The check replaces ${BACKEND_A}, ${BACKEND_B} and ${BACKEND_C} with
// demo backends, and wants:
//
//   - requests for host shop.localhost under /cart go to a pool called
//     carts, with backends A and B, balanced by consistent hashing (chash)
//     of the cookie "cart", with /cart stripped from the path, and no
//     retries (one try);
//   - every other request, on any host, goes to a pool called static,
//     with backend C alone, whose active health checks ask for /health
//     every second and need 3 passes in a row to bring it back.
//
// Check it as you go with: go run ./06-middleware -check 06-middleware/gateway/exercise/shop.yaml
const ShopFile = "shop.yaml"
