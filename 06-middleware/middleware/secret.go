package middleware

import (
	"fmt"
	"io"
	"log/slog"
)

// Secret is a key or a signing secret. It prints, formats and logs as
// "[redacted]", so that a Credential passed to a logger or to fmt by
// mistake does not leak it; only the code that checks it reads the string.
//
// Format writes "[redacted]" for every verb: String alone covers %v and
// %s, but fmt answers a verb a string does not support (%d, %t) with
// "%!d(middleware.Secret=the-secret)", the value in full.
type Secret string

const redacted = "[redacted]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (Secret) Format(f fmt.State, _ rune)   { io.WriteString(f, redacted) }
