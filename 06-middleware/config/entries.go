package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decodeYAML reads a target written either as a bare URL
//
//   - http://127.0.0.1:9001
//
// or as a mapping with a weight
//
//   - url: http://127.0.0.1:9002
//     weight: 3
func (t *Target) decodeYAML(d *decoder, path string, n *yaml.Node) {
	t.Weight = 1
	if n.Kind == yaml.ScalarNode {
		t.Raw = value(n)
		d.note(path+".url", n.Line)
		return
	}
	type plain Target // the same fields without the decodeYAML method
	d.decodeStruct(path, n, reflect.ValueOf((*plain)(t)).Elem())
}

// decodeYAML reads one middleware of a route: its name and, beside it, its
// options, decoded into the struct the Registry gives for that name.
//
//   - name: ratelimit
//     rate: 100
//     burst: 20
//
// A middleware without options can be written as its bare name.
func (m *Middleware) decodeYAML(d *decoder, path string, n *yaml.Node) {
	nameNode := n
	options := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line}
	switch n.Kind {
	case yaml.ScalarNode:
	case yaml.MappingNode:
		nameNode = nil
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "name" {
				if nameNode != nil { // eachKey's check, for the key it does not see
					d.errorf(n.Content[i], path+".name", "given twice (first on line %d)", nameNode.Line)
					return
				}
				nameNode = n.Content[i+1]
			} else {
				options.Content = append(options.Content, n.Content[i], n.Content[i+1])
			}
		}
		if nameNode == nil {
			d.errorf(n, path, "no name: each middleware starts with name: and one of %s", strings.Join(d.reg.Names(), ", "))
			return
		}
	default:
		d.errorf(n, path, "want a middleware name or a mapping with name:, got %s", describe(n))
		return
	}
	m.Name = value(nameNode)
	d.note(path+".name", nameNode.Line)
	if m.Name == "" { // a "-" alone, or "name:" with nothing after it
		at := path + ".name"
		if nameNode == n {
			at = path
		}
		d.errorf(nameNode, at, "empty: want a middleware's name, one of %s", strings.Join(d.reg.Names(), ", "))
		return
	}
	opts := d.reg.Options(m.Name)
	if opts == nil {
		d.errorf(nameNode, path+".name", "unknown middleware %q (known: %s)", m.Name, strings.Join(d.reg.Names(), ", "))
		return
	}
	before := len(d.errs)
	d.decodeStruct(path, options, reflect.ValueOf(opts).Elem())
	if c, ok := opts.(interface{ Check() error }); ok {
		decodeErrs := d.errs[before:]
		for _, err := range each(c.Check()) {
			if !followsFrom(err, path, opts, decodeErrs) {
				d.errorAt(d.checkLine(err, path, n), path, fmt.Sprintf("%s: %v", m.Name, err))
			}
		}
	}
	m.Options = opts
}

// checkLine is the line of err, from the Check of the options of the
// middleware n at path: that of the key it names ("key: ..."), if the
// file gave it one, so that "cooldown: 0s" written on a line of its own
// is reported there; or the middleware's.
func (d *decoder) checkLine(err error, path string, n *yaml.Node) int {
	if key, _, ok := strings.Cut(err.Error(), ": "); ok {
		if line, given := d.lines[path+"."+key]; given {
			return line
		}
	}
	return n.Line
}

// value is scalar n's text; a null's (~, null) is empty, as a value left
// out is: it is not a URL or a name to look for.
func value(n *yaml.Node) string {
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// each returns the errors err joins (errors.Join), so that a Check can
// report every mistake of its options at once; or err alone, or none.
func each(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// followsFrom reports whether err, from the Check of options opts at path,
// may only follow from a mistake in decodeErrs, the errors decoding them
// gave: it names (as "key: ...") a key that did not decode, or one an
// entry of whose list did not, and so sees a default; or it names no key
// at all. Any other is a mistake of its own, reported beside the decoding
// errors: a file with "rate: 0" and a misspelt duration shows both, not
// one now and the other once the first is fixed.
func followsFrom(err error, path string, opts any, decodeErrs Errors) bool {
	if len(decodeErrs) == 0 {
		return false
	}
	key, _, ok := strings.Cut(err.Error(), ": ")
	if !ok || fieldIndex(reflect.TypeOf(opts).Elem(), key) < 0 {
		return true
	}
	kpath := path + "." + key
	for _, e := range decodeErrs {
		if e.Path == kpath || strings.HasPrefix(e.Path, kpath+"[") { // the key, or an entry of its list
			return true
		}
	}
	return false
}
