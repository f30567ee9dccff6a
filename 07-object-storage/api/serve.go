package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// errNoBytes is what reading metadataOnly content returns: nothing
// should read it.
var errNoBytes = errors.New("api: metadata only, no content")

type noBytes struct{}

func (noBytes) ReadAt([]byte, int64) (int, error) { return 0, errNoBytes }

// metadataOnly is content of size bytes that has no bytes: enough for
// http.ServeContent to answer a HEAD, a 304 or a 412 (it evaluates the
// preconditions and seeks to learn the size, and reads nothing for
// these), so that they get the same headers and the same precondition
// logic as a GET, without fetching data.
func metadataOnly(size int64) io.ReadSeeker {
	return io.NewSectionReader(noBytes{}, 0, size)
}

// withRange returns r with its Range header set to header, or removed
// if header is "", for http.ServeContent, and without If-Range: the
// caller has judged it (servedRange), or serves no range. A handler must
// not change the request it was given, so this is a copy.
func withRange(r *http.Request, header string) *http.Request {
	r = r.Clone(r.Context())
	r.Header.Del("If-Range")
	if header == "" {
		r.Header.Del("Range")
	} else {
		r.Header.Set("Range", header)
	}
	return r
}

// withLists returns r with If-Match and If-None-Match each in one field
// line, for http.ServeContent and noneMatch, which read the first line
// only. A list may come in several lines, and means what they mean
// joined with commas (RFC 9110, section 5.3); blank lines add nothing,
// and a header of blank lines only is none. r itself if nothing changes.
func withLists(r *http.Request) *http.Request {
	clone := r
	for _, h := range []string{"If-Match", "If-None-Match"} {
		lines := r.Header.Values(h)
		if len(lines) < 2 {
			continue
		}
		var list []string
		for _, l := range lines {
			if l = strings.TrimSpace(l); l != "" {
				list = append(list, l)
			}
		}
		if clone == r {
			clone = r.Clone(r.Context())
		}
		clone.Header.Del(h)
		if len(list) > 0 {
			clone.Header.Set(h, strings.Join(list, ", "))
		}
	}
	return clone
}

// byteRanges is the Range header http.ServeContent should see for an
// object of size bytes, where it would answer otherwise than RFC 9110
// (section 14) asks:
//   - a unit other than bytes is ignored ("" here), where ServeContent
//     answers 416; unit names are case-insensitive, so "Bytes=" is bytes;
//   - an empty object is sent whole: no Content-Range can name a range of
//     no bytes, and ServeContent would answer a suffix range with
//     "bytes 0--1/0";
//   - a suffix of no bytes ("-0") selects nothing, so it becomes
//     "SIZE-", which ServeContent skips as it skips any range past the
//     end, answering 416 with "bytes */SIZE" if nothing else is left; it
//     would send "bytes SIZE-(SIZE-1)/SIZE" instead;
//   - ranges that overlap, or are not in ascending order, are ignored:
//     the object is sent whole. ServeContent would seek back for each,
//     and a streamed object fetches and checks a chunk (a megabyte) from
//     a data server for every seek back, so "bytes=0-0,2097152-2097152,
//     0-0,..." would cost the store a megabyte a range for a byte a
//     range. Section 14.2 names both as signs of a broken client or an
//     attack, which a server may ignore; in order, the ranges are read in
//     one pass, at most the object.
//
// A malformed bytes range is left to ServeContent, which answers 416 (the
// RFC lets a server ignore or reject it).
func byteRanges(header string, size int64) string {
	unit, set, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(unit, "bytes") || size == 0 {
		return ""
	}
	specs := strings.Split(set, ",")
	end := int64(-1) // the last byte of the ranges so far
	for i, spec := range specs {
		n, ok := strings.CutPrefix(strings.TrimSpace(spec), "-")
		if n = strings.TrimSpace(n); ok && n != "" && strings.Trim(n, "0") == "" { // "- 0" too
			specs[i] = strconv.FormatInt(size, 10) + "-"
		}
		first, last, ok := span(specs[i], size)
		switch {
		case !ok || first >= size:
			// Malformed (ServeContent refuses the header), or past the
			// end (it skips the range): nothing is read for it.
		case first <= end:
			return "" // overlapping, or out of order
		default:
			end = last
		}
	}
	return "bytes=" + strings.Join(specs, ",")
}

// span is the first and last byte that spec, one range of a Range
// header, selects in an object of size bytes, as ServeContent reads it;
// ok is false for a spec that does not parse, or a suffix of no bytes,
// and first is size or more for a range past the end.
func span(spec string, size int64) (first, last int64, ok bool) {
	start, end, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, false
	}
	start, end = strings.TrimSpace(start), strings.TrimSpace(end)
	if start == "" { // a suffix: the last END bytes
		n, err := strconv.ParseInt(end, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	}
	first, err := strconv.ParseInt(start, 10, 64)
	if err != nil || first < 0 {
		return 0, 0, false
	}
	if first >= size {
		// Past the end, whatever follows the '-': ServeContent skips
		// such a range before it reads its end ("100-x" on 10 bytes).
		return first, size - 1, true
	}
	last = size - 1
	if end != "" {
		n, err := strconv.ParseInt(end, 10, 64)
		if err != nil || n < first {
			return 0, 0, false
		}
		last = min(n, size-1)
	}
	return first, last, true
}
