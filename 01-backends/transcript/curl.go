package transcript

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// UserAgent is what the replayed curl sends, as curl does.
const UserAgent = "curl/8.5.0"

// Curl replays a curl command line (without the word "curl") and returns
// what curl would print. It knows the options the chapters use:
//
//	-s -S -N       accepted; they change nothing here
//	-i             print the status line and headers, as received
//	-I             a HEAD request, printing the headers
//	-X METHOD      the request method
//	-H 'K: V'      a request header
//	-d DATA        a POST body, of Content-Type application/x-www-form-urlencoded
//	               unless a -H gives another (as curl does)
//	-o /dev/null   do not print the body
//	-w FORMAT      after the body, print FORMAT; it knows %{http_code} and \n
//	--path-as-is   send "." and ".." path segments as written (Go's client
//	               always does; curl removes them unless told not to)
//
// Like curl, it follows no redirects and sends no Accept-Encoding.
func Curl(ctx context.Context, args []string) (string, error) {
	var (
		method, target, format string
		body                   io.Reader
		include, noBody, form  bool
		header                 = http.Header{"User-Agent": {UserAgent}, "Accept": {"*/*"}}
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("curl: option %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch {
		case !strings.HasPrefix(a, "-"):
			target = a
		case a == "-X" || a == "--request":
			method, err = next()
		case a == "-H" || a == "--header":
			var h string
			if h, err = next(); err == nil {
				k, v, ok := strings.Cut(h, ":")
				if !ok {
					return "", fmt.Errorf("curl: header %q has no colon", h)
				}
				header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		case a == "-d" || a == "--data":
			var d string
			if d, err = next(); err == nil {
				body, form = strings.NewReader(d), true
				if method == "" {
					method = http.MethodPost
				}
			}
		case a == "-o":
			var o string
			if o, err = next(); err == nil && o != "/dev/null" {
				err = fmt.Errorf("curl: -o %s: only /dev/null is replayed", o)
			}
			noBody = true
		case a == "-w":
			format, err = next()
		case a == "--path-as-is":
		default:
			for _, c := range a[1:] {
				switch c {
				case 's', 'S', 'N':
				case 'i':
					include = true
				case 'I':
					include, noBody, method = true, true, http.MethodHead
				default:
					return "", fmt.Errorf("curl: option -%c is not replayed", c)
				}
			}
		}
		if err != nil {
			return "", err
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	if form && header.Get("Content-Type") == "" {
		// curl's own header: one of the user's with the same name,
		// before or after -d, replaces it.
		header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return "", fmt.Errorf("curl: %w", err)
	}
	req.Header = header

	// Record the bytes the server sends, to print its headers exactly as
	// they came (curl -i shows them in the server's order).
	// A new Transport per command means one connection per command, as with
	// curl; keep-alive stays on so that no "Connection: close" is sent.
	var wire recorder
	transport := &http.Transport{
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &recordingConn{Conn: c, rec: &wire}, nil
		},
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}

	var out strings.Builder
	if include {
		head, _, found := bytes.Cut(wire.bytes(), []byte("\r\n\r\n"))
		if !found {
			return "", errors.New("curl: could not find the end of the response headers")
		}
		out.WriteString(strings.ReplaceAll(string(head), "\r\n", "\n"))
		out.WriteString("\n\n")
	}
	if !noBody {
		out.Write(data)
	}
	if format != "" {
		f := strings.ReplaceAll(format, `\n`, "\n")
		out.WriteString(strings.ReplaceAll(f, "%{http_code}", fmt.Sprint(resp.StatusCode)))
	}
	return out.String(), nil
}

// recorder keeps what a connection reads.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

type recordingConn struct {
	net.Conn
	rec *recorder
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rec.mu.Lock()
	c.rec.buf.Write(p[:n])
	c.rec.mu.Unlock()
	return n, err
}
