module github.com/gocourse/gateway/07-object-storage

go 1.25.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/stretchr/testify v1.12.1
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/gocourse/gateway/02-single-proxy v0.0.0
	golang.org/x/time v0.15.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gocourse/gateway/03-director v0.0.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_golang v1.24.1 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.71.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

require (
	github.com/gocourse/gateway/01-backends v0.0.0
	github.com/gocourse/gateway/05-balancers v0.0.0
	github.com/gocourse/gateway/06-middleware v0.0.0
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

// Every earlier stage this module could reach through 05's and 06's imports, so
// that GOWORK=off go mod tidy works inside the stage.
replace (
	github.com/gocourse/gateway/01-backends => ../01-backends
	github.com/gocourse/gateway/02-single-proxy => ../02-single-proxy
	github.com/gocourse/gateway/03-director => ../03-director
	github.com/gocourse/gateway/04-multi-target => ../04-multi-target
	github.com/gocourse/gateway/05-balancers => ../05-balancers
	github.com/gocourse/gateway/06-middleware => ../06-middleware
)
