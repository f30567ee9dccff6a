package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns a YAML node tree into Go values, strictly: a key that
// names no field, a value of the wrong type, a key given twice, each is an
// error that says where it is. yaml.Unmarshal with KnownFields stops at the
// first problem; a file checked here reports them all.
//
// Field names are the yaml tags of the structs in config.go. The decoder
// also notes the line of every key path it fills, so that the checks that
// run after decoding (check.go) can point at a line too.
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int        // key path -> line of its value
	via   map[string]*yaml.Node // key path -> the alias its value was decoded through
	given map[string]bool       // key paths given a value that decoded ("key:" alone gives none)
	reg   Registry              // the middleware a file may name

	// strayLists are the paths of unknown keys that hold a list: in a
	// pool, most likely its targets under another name (targts:, servers:).
	strayLists map[string]bool

	// aliasDepth counts the aliases being followed, from the one at
	// aliasPath; aliased counts the values decoded through one. Past
	// MaxAliasValues, tooBig stops decoding.
	aliasDepth, aliased int
	aliasPath           string
	tooBig              bool

	// alias is the outermost alias being followed: what is decoded
	// through it is placed at its line, not at the anchor's, since the
	// same value may be right where it was written and wrong where it is
	// repeated (an anchored "roundrobin" as a balancer, then as tries).
	alias *yaml.Node
}

// MaxAliasValues bounds how many values aliases (*name) may repeat in one
// file. The yaml package keeps an alias as a pointer to its anchor and
// leaves following it to the decoder, and each alias repeats everything
// its anchor holds, aliases included: a few lines that alias aliases
// stand for billions of values (a "billion laughs"), which would take the
// gateway's memory on a reload or a -check. A real configuration aliases
// a few middleware lists or pools: thousands of values at most.
const MaxAliasValues = 100_000

// defaulter is a type with defaults, set before the file's keys are
// decoded into it: a key the file leaves out keeps its default, and one it
// sets to 0 is checked as 0.
type defaulter interface{ setDefaults() }

// unmarshaler is a type that decodes itself (a Target written as a bare
// URL, a route's middleware with their options).
type unmarshaler interface {
	decodeYAML(d *decoder, path string, n *yaml.Node)
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errorAt(line, path, fmt.Sprintf(format, args...))
}

// errorAt adds an error found while decoding, at line unless an alias is
// being followed: then at the alias's line, saying where its value is.
func (d *decoder) errorAt(line int, path, msg string) {
	if d.alias != nil {
		line, msg = d.alias.Line, msg+repeats(d.alias)
	}
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: msg})
}

// repeats says where the value an alias repeats was written.
func repeats(alias *yaml.Node) string {
	return fmt.Sprintf(" (in what *%s repeats from line %d)", alias.Value, alias.Alias.Line)
}

// note notes that path's value is on line, or, decoded through an alias,
// on the alias's line, for the checks after decoding.
func (d *decoder) note(path string, line int) {
	if d.alias != nil {
		d.lines[path], d.via[path] = d.alias.Line, d.alias
		return
	}
	d.lines[path] = line
}

// decode fills v (addressable) from n.
func (d *decoder) decode(path string, n *yaml.Node, v reflect.Value) {
	if d.tooBig {
		return
	}
	d.note(path, n.Line)
	if n.Kind == yaml.AliasNode {
		if d.aliasDepth == 0 {
			d.aliasPath = path
			d.alias = n
			defer func() { d.alias = nil }()
		}
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
		n = n.Alias
	}
	if d.aliasDepth > 0 {
		if d.aliased++; d.aliased > MaxAliasValues {
			d.tooBig = true
			d.fail(d.aliasPath, "aliases (*name) repeat more than %d values: a file whose aliases multiply (a \"billion laughs\") is refused before it takes the gateway's memory", MaxAliasValues)
			return
		}
	}
	if u, ok := v.Addr().Interface().(unmarshaler); ok {
		u.decodeYAML(d, path, n)
		return
	}
	if dv, ok := v.Addr().Interface().(defaulter); ok {
		dv.setDefaults()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" with no value leaves the default
	}
	before := len(d.errs)
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(path, n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "want a list (lines starting with -), got %s", describe(n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			d.decode(fmt.Sprintf("%s[%d]", path, i), item, v.Index(i))
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "want a mapping of names to settings, got %s", describe(n))
			return
		}
		v.Set(reflect.MakeMap(v.Type()))
		d.eachKey(path, n, func(key string, kn, vn *yaml.Node) {
			elem := reflect.New(v.Type().Elem()).Elem()
			if elem.Kind() == reflect.Pointer {
				elem.Set(reflect.New(elem.Type().Elem()))
				d.decode(path+"."+key, vn, elem.Elem())
			} else {
				d.decode(path+"."+key, vn, elem)
			}
			v.SetMapIndex(reflect.ValueOf(key), elem)
		})
	default:
		d.decodeScalar(path, n, v)
	}
	if len(d.errs) == before {
		d.given[path] = true // a value the checks can judge (a mistake is reported once)
	}
}

// eachKey calls f for each key of mapping n, rejecting a key given twice.
func (d *decoder) eachKey(path string, n *yaml.Node, f func(key string, kn, vn *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		key := kn.Value
		if kn.Tag == "!!merge" {
			// yaml.Unmarshal merges "<<: *name" into the mapping; this
			// decoder, which reads nodes, would take "<<" for a key.
			d.errorf(kn, join(path, key), "merge keys (<<) are not supported: write the keys out, or alias a whole value (key: *name)")
			continue
		}
		if line, dup := seen[key]; dup {
			d.errorf(kn, join(path, key), "given twice (first on line %d)", line)
			continue
		}
		seen[key] = kn.Line
		f(key, kn, vn)
	}
}

func (d *decoder) decodeStruct(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping (key: value lines), got %s", describe(n))
		return
	}
	t := v.Type()
	d.eachKey(path, n, func(key string, kn, vn *yaml.Node) {
		i := fieldIndex(t, key)
		if i < 0 {
			known := fieldNames(t)
			if len(known) == 0 { // a middleware without options
				d.errorf(kn, join(path, key), "unknown key %q: it takes no options", key)
				return
			}
			d.errorf(kn, join(path, key), "unknown key %q (known: %s)", key, strings.Join(known, ", "))
			if vn.Kind == yaml.AliasNode && vn.Alias != nil {
				vn = vn.Alias
			}
			if vn.Kind == yaml.SequenceNode {
				d.strayLists[join(path, key)] = true
			}
			return
		}
		d.decode(join(path, key), vn, v.Field(i))
	})
}

// fieldName is the key that fills field f: its yaml tag, or its name in
// snake_case (so that option structs of other packages, which have no
// tags, decode too: RequestsPerSecond is requests_per_second).
func fieldName(f reflect.StructField) string {
	if !f.IsExported() {
		return "-"
	}
	if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" {
		return tag
	}
	return snake(f.Name)
}

// snake turns a Go name into snake_case: MaxBodyBytes is max_body_bytes,
// HTTPStatus is http_status.
func snake(name string) string {
	upper := func(i int) bool { return i >= 0 && i < len(name) && 'A' <= name[i] && name[i] <= 'Z' }
	lower := func(i int) bool { return i >= 0 && i < len(name) && !upper(i) }
	var b strings.Builder
	for i := range len(name) {
		c := name[i]
		if upper(i) {
			if i > 0 && (lower(i-1) || upper(i-1) && lower(i+1)) {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func fieldIndex(t reflect.Type, key string) int {
	for i := range t.NumField() {
		if name := fieldName(t.Field(i)); name != "-" && name == key {
			return i
		}
	}
	return -1
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name := fieldName(t.Field(i)); name != "-" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

var durationType = reflect.TypeFor[time.Duration]()

func (d *decoder) decodeScalar(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want a single value, got %s", describe(n))
		return
	}
	s := n.Value
	switch {
	case v.Type() == durationType:
		dur, err := time.ParseDuration(s)
		if err != nil && durationSyntax(s) {
			d.errorf(n, path, "%q is too long: the longest duration is %v", s, time.Duration(math.MaxInt64))
			return
		}
		if err != nil {
			d.errorf(n, path, "%q is not a duration: want a number with a unit, such as 500ms, 10s or 2m", s)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		// true or false, in quotes too (as a number or a duration may
		// be), but not strconv.ParseBool's 1, t or T.
		if b, ok := yamlBools[s]; ok {
			v.SetBool(b)
			return
		}
		if b, ok := yaml11Bools[s]; ok {
			d.errorf(n, path, "%q is not true or false: write %t (YAML 1.2, which the gateway reads, takes yes, no, on and off as text)", s, b)
			return
		}
		d.errorf(n, path, "%q is not true or false", s)
	case v.CanInt():
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) {
			d.errorf(n, path, "%q is a whole number too %s to hold", s, map[bool]string{false: "large", true: "small"}[strings.HasPrefix(s, "-")])
			return
		}
		if err != nil {
			d.errorf(n, path, "%q is not a whole number%s", s, numberWordHint(path, s))
			return
		}
		if !plainInt(s) {
			d.errorf(n, path, "%q is not a whole number in plain digits: write %d (no + and no leading 0, which a YAML 1.1 reader takes as octal)", s, i)
			return
		}
		v.SetInt(i)
	case v.CanFloat():
		// ParseFloat takes NaN and Inf, which pass a check such as
		// "rate <= 0" and mean nothing in a file: refused here, for
		// every option of every middleware at once.
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
			d.errorf(n, path, "%q is a number too %s to hold", s, map[bool]string{false: "large", true: "small"}[strings.HasPrefix(s, "-")])
			return
		}
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, path, "%q is not a number", s)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, path, "cannot hold a value of Go type %s", v.Type())
	}
}

// plainInt reports whether s, which strconv.ParseInt took in base 10, is
// written in plain digits: a '-' at most, and no leading zero. ParseInt
// also takes +5 and 010; YAML 1.2 reads 010 as ten but YAML 1.1 (and C,
// and ParseInt in base 0) as eight, so the file says which it means. The
// 05 program's -weights flag takes weights the same way.
func plainInt(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	return !strings.HasPrefix(digits, "+") && (digits == "0" || !strings.HasPrefix(digits, "0"))
}

// yamlBools are the spellings of true and false in YAML 1.2's core schema.
var yamlBools = map[string]bool{"true": true, "True": true, "TRUE": true, "false": false, "False": false, "FALSE": false}

// yaml11Bools are the other booleans of YAML 1.1 (yaml.org/type/bool.html),
// which a file written for an older reader may have.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// durationSyntax reports whether s is written as a duration, a number and
// a unit, such as 500ms: one that time.ParseDuration refuses all the same
// is too long for a time.Duration (about 292 years), and saying "not a
// duration" would send its reader looking for a typo.
func durationSyntax(s string) bool {
	for _, unit := range []string{"ns", "us", "µs", "μs", "ms", "s", "m", "h"} {
		if num, ok := strings.CutSuffix(s, unit); ok && num != "" {
			if _, err := strconv.ParseFloat(num, 64); err == nil || errors.Is(err, strconv.ErrRange) {
				return true
			}
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// numberWordHint is what to say after "not a whole number" about a word
// that means something where a knob of the same name is set elsewhere:
// GOGC=off turns the collector off, and whoever writes gc_percent: off
// would otherwise look for a number that does (there is none: 0 leaves
// Go's setting, and a negative one is refused).
func numberWordHint(path, s string) string {
	if path == "runtime.gc_percent" && strings.EqualFold(s, "off") {
		return ": the file cannot turn the collector off, GOGC=off in the environment does (beside memory_limit_bytes, the collector then runs only near the limit)"
	}
	return ""
}
