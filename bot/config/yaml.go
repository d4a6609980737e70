package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// posError is an error at a place in a file; line 0 means the whole file.
type posError struct {
	file string
	line int
	err  error
}

func (e *posError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.file, e.line, e.err)
	}
	return fmt.Sprintf("%s: %v", e.file, e.err)
}

func (e *posError) Unwrap() error { return e.err }

// yamlLine finds the line yaml puts at the front of its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

func yamlError(file, msg string) error {
	msg = flatLine(msg)
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &posError{file: file, line: line, err: errors.New(msg[len(m[0]):])}
	}
	return &posError{file: file, err: errors.New(strings.TrimPrefix(msg, "yaml: "))}
}

// flatLine makes a YAML error one line of valid UTF-8: the yaml package
// quotes up to ten bytes of the offending value, which may hold a line
// break or half a character.
func flatLine(msg string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(msg, "\uFFFD") {
		if r < ' ' || r == 0x7f {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// decodeStrict decodes data into out. It returns every unknown key (with
// the valid ones) as keyErrs, and every syntax or type error joined as err,
// each at its file and line.
func decodeStrict(data []byte, file string, out any) (root *yaml.Node, keyErrs []error, err error) {
	root = new(yaml.Node)
	if err := yaml.Unmarshal(data, root); err != nil {
		return nil, nil, yamlError(file, err.Error())
	}
	checkKeys(root, reflect.TypeOf(out).Elem(), "", func(line int, msg string) {
		keyErrs = append(keyErrs, &posError{file: file, line: line, err: errors.New(msg)})
	})

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, errors.Join(append(keyErrs, yamlError(file, err.Error()))...)
		}
		var errs []error
		for _, msg := range te.Errors {
			// checkKeys has reported the unknown fields better.
			if len(keyErrs) > 0 && strings.Contains(msg, " not found in type ") {
				continue
			}
			errs = append(errs, yamlError(file, msg))
		}
		if len(errs) > 0 {
			return nil, nil, errors.Join(append(keyErrs, errs...)...)
		}
	}
	return root, keyErrs, nil
}

// ruleNodes returns the entries of the top-level rules list.
func ruleNodes(root *yaml.Node) []*yaml.Node {
	if root == nil || root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "rules" {
			continue
		}
		if seq := top.Content[i+1]; seq.Kind == yaml.SequenceNode {
			return seq.Content
		}
		return nil
	}
	return nil
}

// lineOf returns the line of the key at path ("a.b[1].c") under n, or of
// the deepest part of it that exists.
func lineOf(n *yaml.Node, path string) int {
	line := n.Line
	for part := range strings.SplitSeq(strings.ReplaceAll(path, "[", ".["), ".") {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch {
		case part == "":
			continue
		case part[0] == '[' && n.Kind == yaml.SequenceNode:
			i, err := strconv.Atoi(strings.Trim(part, "[]"))
			if err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		case n.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == part {
					next = n.Content[j+1]
					line = n.Content[j].Line
					break
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

var yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// checkKeys walks the YAML tree along the Go type t and reports every
// mapping key that names no field. Shapes that do not fit t are left to
// the decoder, which reports them as type errors.
func checkKeys(n *yaml.Node, t reflect.Type, path string, report func(line int, msg string)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			checkKeys(c, t, path, report)
		}
		return
	case yaml.AliasNode:
		if n.Alias != nil {
			checkKeys(n.Alias, t, path, report)
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(yamlUnmarshalerType) || reflect.PointerTo(t).Implements(yamlUnmarshalerType) {
		return // it checks its own keys
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				checkMerge(v, t, path, report)
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				where := "at the top level"
				if path != "" {
					where = "in " + path
				}
				report(k.Line, fmt.Sprintf("unknown key %q %s (valid: %s)", k.Value, where, strings.Join(configKeys(fields), ", ")))
				continue
			}
			checkKeys(v, f, keyPath(path, k.Value), report)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkKeys(n.Content[i+1], t.Elem(), keyPath(path, n.Content[i].Value), report)
		}
	}
}

func checkMerge(v *yaml.Node, t reflect.Type, path string, report func(int, string)) {
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			checkKeys(c, t, path, report)
		}
		return
	}
	checkKeys(v, t, path, report)
}

func keyPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys of struct type t to the field types, as
// yaml.v3 names them (including inlined structs).
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if slices.Contains(strings.Split(opts, ","), "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range yamlFields(ft) {
					fields[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

func configKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// topMapping returns the top-level mapping of a parsed document, or nil.
func topMapping(root *yaml.Node) *yaml.Node {
	if root == nil || root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	return root.Content[0]
}

// keyLine returns the line of the config key at path ("jira.url",
// "rules[2]"), or of the deepest part of it the file has; 0 when the file
// does not have its first part.
func (c *Config) keyLine(path string) int {
	top := c.src.root
	if top == nil || path == "" {
		return 0
	}
	first, _, _ := strings.Cut(path, ".")
	first, _, _ = strings.Cut(first, "[")
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == first {
			return lineOf(top, path)
		}
	}
	return 0
}

// messageKey is the config key a validation message starts with:
// "jira.url: …", "slack.bot_token and slack.bot_token_file are both set".
var messageKey = regexp.MustCompile(`^([a-z_]+(?:\.[a-z_]+|\[\d+\])*)(?::| and )`)

func leadingKey(msg string) string {
	if m := messageKey.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}
