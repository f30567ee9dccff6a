package client_test

import (
	"testing"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// cluster is a storetest.Cluster that makes clients sharing its clock.
type cluster struct {
	*storetest.Cluster
	t testing.TB
}

func newCluster(t testing.TB, n int, opt meta.Options) cluster {
	return cluster{storetest.New(t, n, opt), t}
}

func newClusterWith(t testing.TB, n int, opt meta.Options, dataOpt dataserver.Options) cluster {
	return cluster{storetest.NewWith(t, n, opt, dataOpt), t}
}

func (c cluster) client(opt client.Options) *client.Client {
	opt.MetaURL = c.MetaURL
	opt.Now = c.Clock.Now
	if opt.Log == nil {
		opt.Log = storetest.Quiet
	}
	if opt.TempDir == "" {
		opt.TempDir = c.t.TempDir()
	}
	return client.New(opt)
}
