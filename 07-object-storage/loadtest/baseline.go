package main

import (
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
		if err := mkdir(filepath.Dir(path)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		f, err := os.Create(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := f.Sync(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})), nil
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }
