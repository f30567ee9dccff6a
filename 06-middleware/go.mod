module github.com/gocourse/gateway/06-middleware

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace (
	github.com/gocourse/gateway/01-backends => ../01-backends
	github.com/gocourse/gateway/02-single-proxy => ../02-single-proxy
)
