package middleware

import (
	"bytes"
	"context"
	"encoding"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// TextHandler is a log/slog Handler that writes the lines slog.TextHandler
// writes (time=… level=… msg=… key=value, quoted where needed), byte for
// byte, for the gateway's access log: one line per request, so its cost is
// paid on every request.
//
// It is cheaper because it does less: no ReplaceAttr, no AddSource, no
// per-line state beyond a pooled buffer, and it formats the time of a line
// from a cached second ("2006-01-02T15:04:05", refreshed once a second)
// plus the milliseconds and zone. Values are appended with strconv; only a
// value of kind Any (an error, a struct) goes through fmt, as in
// slog.TextHandler. Each line is written with one Write call, under a
// mutex shared by the handlers WithAttrs and WithGroup derive, so that
// lines never interleave.
//
// Use slog.TextHandler where you need its options; TestTextHandlerMatchesSlog
// checks that both write the same bytes.
type TextHandler struct {
	out    *output
	level  slog.Leveler
	attrs  []byte // from WithAttrs, formatted once: " key=value" each
	prefix string // from WithGroup: "group.subgroup."
}

// output is what a TextHandler and the handlers derived from it share.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

// NewTextHandler returns a handler writing to w the lines at level or
// above (nil means slog.LevelInfo).
func NewTextHandler(w io.Writer, level slog.Leveler) *TextHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &TextHandler{out: &output{w: w}, level: level}
}

// Enabled reports whether lines at l are written.
func (h *TextHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// WithAttrs returns a handler whose lines carry attrs after the message.
func (h *TextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	b := bytes.Clone(h.attrs) // never append into the array of the handler h derives from
	for _, a := range attrs {
		b = appendAttr(b, h.prefix, a)
	}
	h2.attrs = b
	return &h2
}

// WithGroup returns a handler whose attributes' keys start with name and
// a dot, as slog.TextHandler writes them.
func (h *TextHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle writes r as one line.
func (h *TextHandler) Handle(_ context.Context, r slog.Record) error {
	bp := bufs.Get().(*[]byte)
	b := (*bp)[:0]
	if !r.Time.IsZero() {
		b = append(b, "time="...)
		b = appendTime(b, r.Time)
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendString(b, r.Level.String())
	b = append(b, " msg="...)
	b = appendString(b, r.Message)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.prefix, a)
		return true
	})
	b = append(b, '\n')
	h.out.mu.Lock()
	_, err := h.out.w.Write(b)
	h.out.mu.Unlock()
	if cap(b) <= 16<<10 { // keep the pool's buffers small
		*bp = b
		bufs.Put(bp)
	}
	return err
}

// appendAttr appends " key=value" (or a group's attributes, their keys
// prefixed with its name), following slog.TextHandler's rules: an empty
// Attr and an empty group are left out, a group with no key is inlined.
func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
	}
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindAny {
		if src, ok := a.Value.Any().(*slog.Source); ok {
			if src == nil || *src == (slog.Source{}) {
				return b
			}
			a.Value = slog.StringValue(fmt.Sprintf("%s:%d", src.File, src.Line))
		}
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			b = appendAttr(b, prefix, ga)
		}
		return b
	}
	b = append(b, ' ')
	if prefix == "" {
		b = appendString(b, a.Key)
	} else if !needsQuoting(prefix) && !needsQuoting(a.Key) {
		b = append(append(b, prefix...), a.Key...)
	} else {
		b = strconv.AppendQuote(b, prefix+a.Key)
	}
	b = append(b, '=')
	return appendValue(b, a.Value)
}

func appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		return append(b, v.Duration().String()...)
	case slog.KindTime:
		return appendTime(b, v.Time())
	}
	return appendAny(b, v.Any())
}

// appendAny appends a value of kind Any as slog.TextHandler does: text
// from a TextMarshaler, a quoted []byte, else fmt's %+v.
func appendAny(b []byte, a any) (out []byte) {
	defer func() {
		// As slog does: a nil pointer whose method panics prints <nil>.
		if p := recover(); p != nil {
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.Pointer && rv.IsNil() {
				out = appendString(b, "<nil>")
				return
			}
			panic(p)
		}
	}()
	if tm, ok := a.(encoding.TextMarshaler); ok {
		data, err := tm.MarshalText()
		if err != nil {
			return appendString(b, fmt.Sprintf("!ERROR:%v", err))
		}
		return appendString(b, string(data))
	}
	if bs, ok := a.([]byte); ok {
		return strconv.AppendQuote(b, string(bs))
	}
	if t := reflect.TypeOf(a); t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		return strconv.AppendQuote(b, string(reflect.ValueOf(a).Bytes()))
	}
	return appendString(b, fmt.Sprintf("%+v", a))
}

// appendString appends s, quoted if it must be for the line to stay one
// line of unambiguous key=value pairs.
func appendString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog.TextHandler's rule: quote the empty string, space,
// '=', '"', ASCII control characters, and any other rune that is a space,
// not printable or not UTF-8.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// second is a formatted second: lines in the same second as the one
// before share it, and only their milliseconds are formatted.
type second struct {
	unix   int64
	loc    *time.Location
	prefix []byte // "2006-01-02T15:04:05"
	zone   []byte // "Z" or "+01:00"
}

var lastSecond atomic.Pointer[second]

// appendTime appends t as slog.TextHandler does: RFC 3339 with
// milliseconds (2006-01-02T15:04:05.000Z07:00).
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		// What slog does for every time: format with nanoseconds (a tenth
		// of a millisecond added, so that four digits are there), then cut
		// the fourth digit at the offset a four-digit year puts it.
		const prefixLen = len("2006-01-02T15:04:05.000")
		n := len(b)
		b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
		return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
	}
	unix, ms := t.Unix(), t.Nanosecond()/int(time.Millisecond)
	s := lastSecond.Load()
	if s == nil || s.unix != unix || s.loc != t.Location() {
		s = &second{
			unix: unix, loc: t.Location(),
			prefix: t.AppendFormat(nil, "2006-01-02T15:04:05"),
			zone:   t.AppendFormat(nil, "Z07:00"),
		}
		lastSecond.Store(s)
	}
	b = append(b, s.prefix...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, s.zone...)
}
