package middleware

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// CORSConfig says which browser pages may call the gateway.
type CORSConfig struct {
	Origins []string      // allowed origins, such as https://app.example.com; "*" allows any, without credentials
	Methods []string      // methods a page may use beyond the simple ones (default GET, POST, PUT, PATCH, DELETE)
	Headers []string      // request headers a page may send (e.g. X-Api-Key, Authorization)
	Expose  []string      // response headers a page may read (X-Request-Id is always added)
	MaxAge  time.Duration // how long a browser may cache a preflight answer

	// Credentials lets the origins Origins names (not those "*" allows)
	// send cookies and HTTP authentication: a preflight from one is
	// answered with Access-Control-Allow-Credentials: true, as is each
	// actual request. Without it the gateway's preflight grants none, so
	// a browser sends no credentialed request that needs one (a PUT, or
	// an Authorization header), and on the others the upstream's own
	// Access-Control-Allow-Credentials stands.
	Credentials bool
}

// CORS lets browser pages from other origins call the gateway (Cross-Origin
// Resource Sharing). A browser asks first with a preflight request
// (OPTIONS, with Origin and Access-Control-Request-Method), which carries
// no credentials; the gateway answers it itself, 204 with what is allowed
// or 403 with why not, and never forwards it upstream. On the actual
// request it adds Access-Control-Allow-Origin for an allowed origin,
// replacing the upstream's own as the header goes out, and removes the
// upstream's for an origin it does not allow: the layer's list decides. Every answer, to a
// request with Origin or without, carries Vary: Origin (the Fetch
// standard's rule for a server whose answer depends on Origin).
//
// Put it before Auth: a preflight has no API key, and a 401 without CORS
// headers is one the page's script cannot read.
func CORS(cfg CORSConfig) onion.Middleware {
	if len(cfg.Methods) == 0 {
		cfg.Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
	}
	methods := strings.Join(cfg.Methods, ", ")
	headers := strings.Join(cfg.Headers, ", ")
	expose := strings.Join(append([]string{HeaderRequestID}, cfg.Expose...), ", ")
	// Whole seconds, rounded up: a max_age under a second set means "a
	// little", and truncated it would be Max-Age: 0, "do not cache".
	maxAge := strconv.FormatInt(int64(math.Ceil(cfg.MaxAge.Seconds())), 10)
	any := slices.Contains(cfg.Origins, "*")
	originOK := func(o string) bool { return any || slices.Contains(cfg.Origins, o) }

	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Every answer depends on Origin, the one to a request without
			// it too: a shared cache must not give that answer (with no
			// Access-Control-Allow-Origin) to a browser, nor one origin's
			// answer to another.
			h := w.Header()
			h.Add("Vary", "Origin")
			origin := r.Header.Get("Origin")
			if origin == "" { // not a cross-origin browser request
				next.ServeHTTP(w, r)
				return
			}
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			if !preflight {
				if !originOK(origin) {
					// The layer decides for the route: an upstream's own
					// Access-Control-Allow-Origin (a "*", say) must not let
					// an origin the configuration refuses read the answer.
					fw := &fieldWriter{ResponseWriter: w, key: "Access-Control-Allow-Origin"}
					defer fw.finish() // a panic's 500 (Recover) too
					next.ServeHTTP(fw, r)
					return
				}
				// Set now and again as the header goes out, replacing
				// an upstream's own (a proxy adds it beside this one,
				// and a browser refuses two values).
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", expose)
				fw := &fieldWriter{ResponseWriter: w, key: "Access-Control-Allow-Origin", value: []string{origin}}
				defer fw.finish() // a panic's 500 (Recover) too
				if cfg.Credentials && slices.Contains(cfg.Origins, origin) {
					h.Set("Access-Control-Allow-Credentials", "true")
					cw := &fieldWriter{ResponseWriter: fw, key: "Access-Control-Allow-Credentials", value: []string{"true"}}
					defer cw.finish()
					next.ServeHTTP(cw, r)
					return
				}
				if !slices.Contains(cfg.Origins, origin) {
					// Allowed by "*" alone, which grants no credentials
					// (a browser refuses them beside a literal "*"). The
					// origin sent back instead must not get an upstream's
					// Access-Control-Allow-Credentials: any site could
					// read a signed-in user's answers.
					cw := &fieldWriter{ResponseWriter: fw, key: "Access-Control-Allow-Credentials"}
					defer cw.finish()
					next.ServeHTTP(cw, r)
					return
				}
				next.ServeHTTP(fw, r)
				return
			}

			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			method := r.Header.Get("Access-Control-Request-Method")
			switch {
			case !originOK(origin):
				http.Error(w, fmt.Sprintf("CORS preflight: origin %q is not allowed", origin), http.StatusForbidden)
				return
			case !slices.Contains(cfg.Methods, method) && !simpleMethod(method):
				http.Error(w, fmt.Sprintf("CORS preflight: method %q is not allowed", method), http.StatusForbidden)
				return
			}
			for _, want := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
				want = strings.TrimSpace(want)
				if want != "" && !slices.ContainsFunc(cfg.Headers, func(h string) bool { return strings.EqualFold(h, want) }) {
					http.Error(w, fmt.Sprintf("CORS preflight: header %q is not allowed", want), http.StatusForbidden)
					return
				}
			}
			h.Set("Access-Control-Allow-Origin", origin)
			if cfg.Credentials && slices.Contains(cfg.Origins, origin) {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			h.Set("Access-Control-Allow-Methods", methods)
			if headers != "" {
				h.Set("Access-Control-Allow-Headers", headers)
			}
			if cfg.MaxAge > 0 {
				h.Set("Access-Control-Max-Age", maxAge)
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
}

func simpleMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "POST" }
