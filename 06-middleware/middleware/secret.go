package middleware

import "log/slog"

// Secret is a key or a signing secret. It prints, formats and logs as
// "[redacted]", so that a Credential passed to a logger or to fmt by
// mistake does not leak it; only the code that checks it reads the string.
type Secret string

const redacted = "[redacted]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
