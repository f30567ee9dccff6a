// Package client reads and writes objects in the store. It asks the
// metadata server where things are and moves the bytes to and from the
// data servers itself, so the metadata server stays off the data path.
// The stage's API server is a thin HTTP face on a Client.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// Errors a Client returns, besides those of package meta.
var (
	ErrTooLarge  = errors.New("object too large")
	ErrNoReplica = errors.New("no replica could serve verified content")
	ErrStalled   = errors.New("stalled: the data server moved no bytes for too long")
)

// Options configure a Client. Only MetaURL is required.
type Options struct {
	MetaURL string
	HTTP    *http.Client // default: a client with a tuned, shared Transport
	TempDir string       // where Put and large Gets spool; default os.TempDir()

	MetaCacheEntries int           // default 1024; -1 disables the cache
	MetaCacheTTL     time.Duration // default 5s
	DataCacheBytes   int64         // default 64 MiB
	// Blobs up to MemoryLimit bytes are fetched into memory (and the data
	// cache), and spooled in memory by Put; larger ones go through a
	// temporary file. Default 1 MiB.
	MemoryLimit int64

	// An exchange with a data server that moves no byte for StallTimeout
	// is abandoned (ErrStalled): an upload whose body it stops taking, a
	// read whose answer (headers or body) stops coming, which then goes
	// on to the next replica. So a server that hangs cannot hold a write
	// or a read until its caller gives up. Time spent waiting on this
	// side (for an upload's own bytes, or for a streamed Object's reader
	// to Read again) does not count. Default 30s; -1 turns it off.
	StallTimeout time.Duration
	// CopyRate is the slowest rate, in bytes a second, at which data
	// servers are expected to copy a blob between themselves (their
	// -copy-rate paces it). A copy that PutStream's retry asks for (a
	// POST /pull, answered only once the copy is done) is given up on
	// after StallTimeout plus twice the time its blob takes at this rate
	// (ErrStalled), as the metadata server bounds a repair's. Default
	// 20 MiB, the metadata server's RepairRate; with StallTimeout -1
	// there is no bound.
	CopyRate int64

	Now       func() time.Time                      // default time.Now
	AfterFunc func(d time.Duration, f func()) Timer // default time.AfterFunc; for tests
	Log       *slog.Logger
}

// Timer is what Options.AfterFunc returns: a *time.Timer, or a test's.
type Timer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// Client is safe for concurrent use.
type Client struct {
	opt    Options
	http   *http.Client
	metas  *metaCache
	blobs  *dataCache
	doubts *doubts // copies found bad, tried last (doubts.go)
}

// NewTransport returns the Transport a Client uses by default. The
// default Transport keeps only 2 idle connections per host: under load a
// client then opens and closes connections to the same few data servers
// all the time. ExpectContinueTimeout makes "Expect: 100-continue" work,
// which lets a data server that already has a blob refuse the body.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.ExpectContinueTimeout = time.Second
	return t
}

// New returns a client of the metadata server at opt.MetaURL.
func New(opt Options) *Client {
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Transport: NewTransport()}
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	if opt.MetaCacheEntries == 0 {
		opt.MetaCacheEntries = 1024
	}
	if opt.MetaCacheTTL == 0 {
		opt.MetaCacheTTL = 5 * time.Second
	}
	if opt.DataCacheBytes == 0 {
		opt.DataCacheBytes = 64 << 20
	}
	if opt.MemoryLimit == 0 {
		opt.MemoryLimit = 1 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.StallTimeout == 0 {
		opt.StallTimeout = 30 * time.Second
	}
	if opt.CopyRate <= 0 {
		opt.CopyRate = 20 << 20
	}
	if opt.AfterFunc == nil {
		opt.AfterFunc = func(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Client{
		opt:    opt,
		http:   opt.HTTP,
		metas:  newMetaCache(opt.MetaCacheEntries, opt.MetaCacheTTL, opt.Now),
		blobs:  newDataCache(opt.DataCacheBytes),
		doubts: newDoubts(opt.Now),
	}
}

// CloseIdleConnections closes the connections the client keeps open to
// the metadata and data servers between requests. A program that stops
// using the client calls it: the servers may run on, and would otherwise
// hold each connection, and the client two goroutines for it, until the
// transport's idle timeout.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Stat returns version number of key (the latest if number is 0),
// without its content.
func (c *Client) Stat(ctx context.Context, key string, number uint64) (meta.Version, error) {
	v, _, _, err := c.stat(ctx, key, number)
	return v, err
}

// StatFreshUntil is Stat, and also says until when its answer is fresh,
// as Object.FreshUntil does for Get's.
func (c *Client) StatFreshUntil(ctx context.Context, key string, number uint64) (_ meta.Version, freshUntil time.Time, _ error) {
	v, freshUntil, _, err := c.stat(ctx, key, number)
	return v, freshUntil, err
}

// stat is StatFreshUntil, and says whether its answer came from the
// cache.
func (c *Client) stat(ctx context.Context, key string, number uint64) (_ meta.Version, freshUntil time.Time, cached bool, _ error) {
	if err := meta.ValidateKey(key); err != nil {
		return meta.Version{}, time.Time{}, false, err
	}
	k := metaKey{key, number}
	if v, expires, ok := c.metas.get(k); ok {
		return v, expires, true, nil
	}
	q := url.Values{"key": {key}}
	if number != 0 {
		q.Set("version", strconv.FormatUint(number, 10))
	}
	l := c.metas.start(key)
	var v meta.Version
	err := c.call(ctx, http.MethodGet, "/objects", q, nil, &v)
	if err == nil {
		err = checkVersion(v)
	}
	if err != nil {
		c.metas.finish(l, k, nil)
		return meta.Version{}, time.Time{}, false, err
	}
	return v, c.metas.finish(l, k, &v), false, nil
}

// checkVersion refuses a metadata answer that Get cannot use: a negative
// size would be taken for a buffer's capacity (a panic), and a malformed
// hash matches no replica, which would have every good copy reported bad.
func checkVersion(v meta.Version) error {
	if v.Size < 0 {
		return fmt.Errorf("%w: size %d", ErrBadAnswer, v.Size)
	}
	if _, err := blob.ParseHash(string(v.Hash)); err != nil {
		return fmt.Errorf("%w: %v", ErrBadAnswer, err) // not the caller's bad hash
	}
	return nil
}

// Delete adds a delete marker to key. Older versions stay readable.
func (c *Client) Delete(ctx context.Context, key string) (meta.Version, error) {
	if err := meta.ValidateKey(key); err != nil {
		return meta.Version{}, err
	}
	defer c.metas.forget(key)
	var v meta.Version
	err := c.call(ctx, http.MethodDelete, "/objects", url.Values{"key": {key}}, nil, &v)
	return v, err
}

// Versions lists every version of key, oldest first, asking for them a
// page at a time. A key can have any number of versions: a caller that
// cannot hold them all asks for pages with VersionPage.
func (c *Client) Versions(ctx context.Context, key string) ([]meta.Version, error) {
	var vs []meta.Version
	var after uint64
	for {
		page, err := c.VersionPage(ctx, key, after, 0)
		if err != nil {
			return nil, err
		}
		vs = append(vs, page.Versions...)
		if page.Next == 0 {
			return vs, nil
		}
		if page.Next <= after {
			return nil, fmt.Errorf("versions of %q: the metadata server's next page starts at %d, after %d", key, page.Next, after)
		}
		after = page.Next
	}
}

// VersionPage returns a page of key's versions, oldest first, those
// numbered above after. limit 0 means the server's maximum.
func (c *Client) VersionPage(ctx context.Context, key string, after uint64, limit int) (meta.VersionList, error) {
	if err := meta.ValidateKey(key); err != nil {
		return meta.VersionList{}, err
	}
	q := url.Values{"key": {key}}
	if after > 0 {
		q.Set("after", strconv.FormatUint(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l meta.VersionList
	err := c.call(ctx, http.MethodGet, "/versions", q, nil, &l)
	return l, err
}

// List returns a page of the latest versions of keys starting with
// prefix, after the key after. limit 0 means the server's maximum.
func (c *Client) List(ctx context.Context, prefix, after string, limit int) (meta.Listing, error) {
	q := url.Values{"prefix": {prefix}, "after": {after}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var l meta.Listing
	err := c.call(ctx, http.MethodGet, "/keys", q, nil, &l)
	return l, err
}
