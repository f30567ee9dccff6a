module github.com/gocourse/gateway/04-multi-target

go 1.25.0

require (
	github.com/gocourse/gateway/01-backends v0.0.0
	github.com/gocourse/gateway/02-single-proxy v0.0.0
	github.com/gocourse/gateway/03-director v0.0.0
	github.com/google/go-cmp v0.7.0
	github.com/stretchr/testify v1.12.1
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace (
	github.com/gocourse/gateway/01-backends => ../01-backends
	github.com/gocourse/gateway/02-single-proxy => ../02-single-proxy
	github.com/gocourse/gateway/03-director => ../03-director
)
