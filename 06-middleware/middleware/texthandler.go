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
// lines never interleave. Given a LogBuffer, it lets access lines wait
// in it and flushes it after every other line.
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
	// flusher is w if it holds lines back (a *LogBuffer): every line but
	// an access line is flushed at once.
	flusher interface{ Flush() error }
}

// NewTextHandler returns a handler writing to w the lines at level or
// above (nil means slog.LevelInfo).
func NewTextHandler(w io.Writer, level slog.Leveler) *TextHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	f, _ := w.(interface{ Flush() error })
	return &TextHandler{out: &output{w: w, flusher: f}, level: level}
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
	bp, b := h.begin(r.Time)
	b = append(b, "level="...)
	b = appendString(b, r.Level.String())
	b = append(b, " msg="...)
	b = appendString(b, r.Message)
	b = append(b, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.prefix, a)
		return true
	})
	return h.end(bp, b, true)
}

// writeAccess writes the line Handle writes for l.record(t), byte for
// byte (TestWriteAccessMatchesSlog checks it against slog.TextHandler),
// without building the Record: no attribute is boxed in a slog.Value, none
// goes to a slice the Record allocates past its fifth, and what is known
// in advance (the level, the message, the keys) is not checked for
// characters to quote on every line. AccessLog calls it on every request.
func (h *TextHandler) writeAccess(t time.Time, l *accessLine) error {
	bp, b := h.begin(t)
	b = append(b, "level=INFO msg="+accessMessage...)
	b = append(b, h.attrs...)
	b = appendString(h.accessKey(b, "method"), l.method)
	b = appendString(h.accessKey(b, "path"), l.path)
	b = strconv.AppendInt(h.accessKey(b, "status"), int64(l.status), 10)
	b = strconv.AppendInt(h.accessKey(b, "bytes"), l.bytes, 10)
	b = append(h.accessKey(b, "duration"), l.duration.String()...)
	b = appendString(h.accessKey(b, "upstream"), l.upstream)
	b = appendString(h.accessKey(b, "request_id"), l.id)
	b = appendString(h.accessKey(b, "client"), l.client)
	b = appendString(h.accessKey(b, "remote_addr"), l.remote)
	if l.aborted {
		b = append(h.accessKey(b, "aborted"), "true"...)
	}
	return h.end(bp, b, false)
}

// accessKey is appendKey for the keys of an access line, which need no
// quoting: only a group's name from WithGroup might.
func (h *TextHandler) accessKey(b []byte, key string) []byte {
	if h.prefix != "" {
		return appendKey(b, h.prefix, key)
	}
	b = append(b, ' ')
	b = append(b, key...)
	return append(b, '=')
}

// begin starts a line in a pooled buffer, with its time unless that is
// zero.
func (h *TextHandler) begin(t time.Time) (*[]byte, []byte) {
	bp := bufs.Get().(*[]byte)
	b := (*bp)[:0]
	if !t.IsZero() {
		b = append(b, "time="...)
		b = appendTime(b, t)
		b = append(b, ' ')
	}
	return bp, b
}

// end writes the line b that begin started and gives the buffer back.
// A line written with now, which is every line but an access line, is
// flushed at once if the writer holds lines back (a LogBuffer): a
// warning does not wait behind the access lines of the next second.
func (h *TextHandler) end(bp *[]byte, b []byte, now bool) error {
	b = append(b, '\n')
	h.out.mu.Lock()
	_, err := h.out.w.Write(b)
	if err == nil && now && h.out.flusher != nil {
		err = h.out.flusher.Flush()
	}
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
	return appendValue(appendKey(b, prefix, a.Key), a.Value)
}

// appendKey appends " key=", the key prefixed by the groups' names and
// quoted if it must be.
func appendKey(b []byte, prefix, key string) []byte {
	b = append(b, ' ')
	if prefix == "" {
		b = appendString(b, key)
	} else if !needsQuoting(prefix) && !needsQuoting(key) {
		b = append(append(b, prefix...), key...)
	} else {
		b = strconv.AppendQuote(b, prefix+key)
	}
	return append(b, '=')
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
		// As slog does: a nil pointer whose method panics prints <nil>,
		// any other panic prints its value; the line is still written.
		if p := recover(); p != nil {
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.Pointer && rv.IsNil() {
				out = appendString(b, "<nil>")
				return
			}
			out = appendString(b, fmt.Sprintf("!PANIC: %v", p))
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
// not printable or not UTF-8. It runs on every value of every line, so it
// skips eight plain ASCII bytes at a time (plainWord), then looks at one
// byte at a time: a table look-up for ASCII (quoteASCII), the unicode
// tables only past that.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if !plainWord(w) {
			break // the byte loop decides
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if quoteASCII[c] {
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

// plainWord reports whether none of the eight bytes in w needs quoting:
// each is ASCII, above the space, neither '=' nor '"'. It uses the
// "determine if a word has a zero byte" and "has a byte less than n"
// tests of Sean Eron Anderson's Bit Twiddling Hacks
// (https://graphics.stanford.edu/~seander/bithacks.html#ZeroInWord): they
// never miss such a byte, which is what matters here (a word they
// wrongly flag would only go to the byte loop).
func plainWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) bool { return (v-ones)&^v&highs != 0 }
	hasLess := func(v uint64, n uint64) bool { return (v-ones*n)&^v&highs != 0 } // for v's bytes < 0x80, n <= 128
	return w&highs == 0 && !hasLess(w, ' '+1) && !hasZero(w^(ones*'=')) && !hasZero(w^(ones*'"'))
}

// quoteASCII tells which ASCII bytes make a string need quoting.
var quoteASCII = func() (q [utf8.RuneSelf]bool) {
	for c := range q {
		q[c] = c <= ' ' || c == '=' || c == '"'
	}
	return q
}()

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
