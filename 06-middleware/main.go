// Command 06-middleware is the course's gateway: routes, pools of backends
// behind any of stage 05's balancers, active and passive health checks,
// retries, the middleware onion of part 1, reload without downtime and a
// hardened server, all from one configuration file. With no flags it
// starts three demo backends and serves a built-in configuration that
// shows every balancer and middleware.
//
//	go run ./06-middleware                      the built-in demo
//	go run ./06-middleware -config gateway.yaml your own configuration
//	go run ./06-middleware -check gateway.yaml  validate it and exit
//
// Part 1's smaller demo of the middleware alone is ./06-middleware/demo.
package main

import (
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/06-middleware/gateway"
)

func main() { serve.Main("06-middleware", gateway.Run) }
