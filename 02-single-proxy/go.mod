module github.com/gocourse/gateway/02-single-proxy

go 1.25.0

require github.com/gocourse/gateway/01-backends v0.0.0

replace github.com/gocourse/gateway/01-backends => ../01-backends
