package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
)

// startBaseline serves one plain HTTP hop: a PUT writes the body to a
// file and fsyncs it, a GET is http.FileServer (which sends the file with
// sendfile where the system has it). It stores objects under dir with the
// same paths the store uses, /objects/{key}.
//
// That is the baseline issue 7 names, and no more: it syncs neither the
// file's directory nor any index. A store's PUT does more durable work
// (the blob's fsync, its directory's, and bbolt's two for the commit),
// and its ratio includes that price.
func startBaseline(dir string) (*httptest.Server, error) {
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	files := http.FileServer(http.Dir(dir))
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			files.ServeHTTP(w, r)
			return
		}
		path := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/")))
		if err := writeSynced(path, r.Body); err != nil {
			http.Error(w, err.Error(), errorStatus(err))
			return
		}
		w.WriteHeader(http.StatusCreated)
	})), nil
}

// errBody marks a copy of the body that failed (most often a client
// whose body ended early): the baseline answers it 400, a failure to
// create or sync the file 500.
var errBody = errors.New("reading the body")

// writeSynced is the baseline's whole durable work for a PUT: create
// path (and its directory), copy body into it, fsync the file. The
// benchmarks of flushes_test.go measure it beside the store's.
func writeSynced(path string, body io.Reader) error {
	if err := mkdir(filepath.Dir(path)); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, body); err != nil {
		return fmt.Errorf("%w: %w", errBody, err)
	}
	return f.Sync()
}

func errorStatus(err error) int {
	if errors.Is(err, errBody) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }
