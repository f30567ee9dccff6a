package exercise

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/gateway"
)

// CheckRegister checks exercise 1 on register.
func CheckRegister(t *testing.T, register func(*gateway.Registry)) {
	t.Helper()
	reg := gateway.DefaultRegistry()
	register(reg)
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	file := func(options string) []byte {
		return []byte("pools: {p: {targets: [" + srv.URL + "]}}\nroutes:\n  - pool: p\n    middleware:\n      - {name: add-header" + options + "}\n")
	}

	_, err := config.Parse("f.yaml", file(""), reg)
	if err == nil {
		t.Error("add-header without a header option was accepted; it must be an error (a Check method on the options)")
	} else if strings.Contains(err.Error(), "unknown middleware") {
		t.Fatalf("add-header is not registered: %v", err)
	}
	if _, err := config.Parse("f.yaml", file(", header: X-A, colour: red"), reg); err == nil || !strings.Contains(err.Error(), `unknown key "colour"`) {
		t.Errorf("an unknown option must be rejected with unknown key \"colour\", got %v", err)
	}

	g, err := gateway.New(context.Background(), func() (string, []byte, error) {
		// Two uses, each with its own options.
		return "f.yaml", file(`, header: X-Course, value: "06"}
      - {name: add-header, header: x-stage, value: gateway`), nil
	}, gateway.Options{Registry: reg, ManualChecks: true})
	if err != nil {
		t.Fatalf("a valid file was rejected: %v", err)
	}
	defer g.Close()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	// sent is the header as it was sent (rec.Header() would also show a
	// header set after the response was written, too late), with names in
	// canonical form, as a client reads them: one set in the map directly,
	// as "x-stage", goes out as written and is just as good.
	sent, late := canonical(rec.Result().Header), canonical(rec.Header())
	if rec.Code != 200 {
		t.Errorf("the response has status %d, want 200", rec.Code)
	}
	if got := sent.Get("X-Backend"); got != "A" {
		t.Errorf("the response came from backend %q, want A: add-header must call next.ServeHTTP, or the request never reaches the backend (nor the route's second add-header)", got)
		return
	}
	for _, h := range []struct{ name, value, other, use string }{
		{"X-Course", "06", "X-Stage", "first"},
		{"X-Stage", "gateway", "X-Course", "second"},
	} {
		switch got := sent.Get(h.name); {
		case got == h.value:
		case late.Get(h.name) == h.value:
			t.Errorf("%s is not in the header sent, only set after the response was written: set it before next.ServeHTTP", h.name)
		case sent.Get(h.other) != "":
			t.Errorf("the route's %s add-header gave %s %q, want %q, while the other's %s is there: each use of the middleware must keep its own options (a variable shared by every call of build holds only the last)", h.use, h.name, got, h.value, h.other)
		default:
			t.Errorf("the route's %s add-header gave %s %q in the header sent, want %q", h.use, h.name, got, h.value)
		}
	}
}

// canonical returns h with every name in canonical form.
func canonical(h http.Header) http.Header {
	c := http.Header{}
	for name, values := range h {
		for _, v := range values {
			c.Add(name, v)
		}
	}
	return c
}

// CheckShop checks exercise 2 on the configuration file at path.
func CheckShop(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srvs := make([]*httptest.Server, 3)
	text := string(data)
	for i := range srvs {
		srvs[i] = httptest.NewServer(backend.New(backend.Name(i)))
		defer srvs[i].Close()
		text = strings.ReplaceAll(text, "${BACKEND_"+backend.Name(i)+"}", srvs[i].URL)
	}
	g, err := gateway.New(context.Background(), func() (string, []byte, error) { return path, []byte(text), nil },
		gateway.Options{ManualChecks: true})
	if err != nil {
		t.Fatalf("the file does not load:\n%v", err)
	}
	defer g.Close()
	cfg := g.Config()

	send := func(host, path, cart string) (*httptest.ResponseRecorder, string) {
		req := httptest.NewRequest("GET", "http://"+host+path, nil)
		if cart != "" {
			req.AddCookie(&http.Cookie{Name: "cart", Value: cart})
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec, rec.Header().Get("X-Backend")
	}

	carts := cfg.Pools["carts"]
	if carts == nil {
		t.Fatal("there is no pool called carts")
	}
	if carts.Balancer != "chash" || carts.Key != "cookie:cart" {
		t.Errorf("carts: balancer %q with key %q; want chash with cookie:cart", carts.Balancer, carts.Key)
	}
	if carts.Retry.Tries != 1 {
		t.Errorf("carts: %d tries; want 1 (no retries)", carts.Retry.Tries)
	}
	seen := map[string]bool{}
	for i := range 20 {
		cart := "cart-" + string(rune('a'+i))
		first := ""
		for range 3 {
			rec, b := send("shop.localhost", "/cart/", cart)
			if rec.Code != 200 || b != "A" && b != "B" {
				t.Fatalf("GET shop.localhost/cart/ with cart %s: status %d from backend %q; want 200 from A or B (is /cart stripped?)", cart, rec.Code, b)
			}
			if first != "" && b != first {
				t.Fatalf("cart %s went to %s, then to %s: one cart, one backend", cart, first, b)
			}
			first = b
		}
		seen[first] = true
	}
	if len(seen) != 2 {
		t.Errorf("20 carts all went to %v: the carts pool should spread them over A and B", seen)
	}
	for _, req := range [][2]string{{"shop.localhost", "/"}, {"other.localhost", "/cart/"}, {"other.localhost", "/"}} {
		if _, b := send(req[0], req[1], "x"); b != "C" {
			t.Errorf("GET %s%s was answered by backend %q; want C (the static pool)", req[0], req[1], b)
		}
	}
	static := cfg.Pools["static"]
	if static == nil {
		t.Fatal("there is no pool called static")
	}
	if h := static.Health; h.Path != "/health" || h.Interval != time.Second || h.Rise != 3 {
		t.Errorf("static: health checks %q every %v, rise %d; want /health every 1s, rise 3", h.Path, h.Interval, h.Rise)
	}
}
