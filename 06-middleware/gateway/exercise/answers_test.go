package exercise

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gocourse/gateway/06-middleware/gateway"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// The course's answers pass the same checks as a learner's.

type answerAddHeader struct {
	Header string `yaml:"header"`
	Value  string `yaml:"value"`
}

func (o *answerAddHeader) Check() error {
	if o.Header == "" {
		return errors.New("header: say which header to set")
	}
	return nil
}

func registerAnswer(reg *gateway.Registry) {
	gateway.Register(reg, "add-header", answerAddHeader{}, func(o *answerAddHeader, _ gateway.Env) (onion.Middleware, error) {
		name, value := http.CanonicalHeaderKey(o.Header), []string{o.Value} // once, not per request
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()[name] = value
				next.ServeHTTP(w, r)
			})
		}, nil
	})
}

func TestAnswerRegister(t *testing.T) { CheckRegister(t, registerAnswer) }
func TestAnswerShop(t *testing.T)     { CheckShop(t, "testdata/shop-answer.yaml") }
