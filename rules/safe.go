package rules

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"github.com/warroom/warroom/incident"
)

// Alert content is untrusted: a label can hold "prod; curl … | sh #". The
// templates that build something a responder runs (rollback.command) or a
// link (deploys.compare_url) therefore only ever see values checked by their
// kind, and the templates that build PromQL (value.query) only ever see
// values escaped as string literals.

// The kinds of value a template may use, and their shapes.
var (
	// dns1123Label is a Kubernetes name such as a namespace: lowercase
	// letters, digits and '-', starting and ending with a letter or digit,
	// at most 63 characters.
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// versionShape is a release version such as v1.4.2 or 2.0.0-rc.1.
	versionShape = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+){0,3}([-+][0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?$`)
	// plainValue is what any other label or annotation must look like to go
	// into a command: a word, with dots, dashes and underscores inside.
	plainValue = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// maxDNS1123Subdomain is Kubernetes's limit on a subdomain name.
const maxDNS1123Subdomain = 253

// IsKubernetesLabel reports whether s is a DNS-1123 label, the shape of a
// Kubernetes namespace.
func IsKubernetesLabel(s string) bool { return dns1123Label.MatchString(s) }

// IsKubernetesName reports whether s is a DNS-1123 subdomain, the shape of
// most Kubernetes object names (and of Argo CD applications): labels joined
// by dots, at most 253 characters.
func IsKubernetesName(s string) bool {
	if s == "" || len(s) > maxDNS1123Subdomain {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !dns1123Label.MatchString(part) {
			return false
		}
	}
	return true
}

// IsSHA reports whether s is a Git commit: 7 to 64 hex digits.
func IsSHA(s string) bool { return incident.IsSHA(s) }

// IsRevision reports whether s may stand for a deploy's revision in a
// command: a Git commit or a release version (v1.4.2).
func IsRevision(s string) bool { return IsSHA(s) || versionShape.MatchString(s) }

// IsPlainValue reports whether s is a conservative word that can go into a
// command as it is: a letter or digit, then letters, digits, '.', '_' and
// '-', at most 63 characters.
func IsPlainValue(s string) bool { return plainValue.MatchString(s) }

// WithheldError says why a template was not rendered: a value it uses is
// not of its kind. Its message is for responders, e.g.
// `label namespace "prod; curl …" is not a Kubernetes name`.
type WithheldError struct {
	// Field names the value: "label namespace", "service", "revision".
	Field string
	// Value is the offending value, cut to 60 characters.
	Value string
	// Want says what it should have been: "a Kubernetes name".
	Want string
}

// Error says which value is not of its kind.
func (e *WithheldError) Error() string {
	return fmt.Sprintf("%s %s is not %s", e.Field, strconv.Quote(e.Value), e.Want)
}

// checked is one value handed to a template in place of the real one.
type checked struct {
	field, value, want string
	ok                 bool
}

// marker stands in a template's input for value number i; it cannot occur
// in a rendered template otherwise, because NUL is in no label and no
// template literal warroom accepts.
func marker(i int) string { return "\x00" + strconv.Itoa(i) + "\x00" }

// substitute replaces every value of data by what check makes of it: the
// value itself when it passes, else a marker. It returns the list that the
// markers index.
func substitute(data TemplateData, check func(field, v string, kind valueKind) checked) (TemplateData, []checked) {
	var list []checked
	put := func(field, v string, kind valueKind) string {
		if v == "" {
			return ""
		}
		c := check(field, v, kind)
		list = append(list, c)
		if c.ok {
			return v
		}
		return marker(len(list) - 1)
	}
	out := data
	out.Service = put("service", data.Service, kindName)
	out.Namespace = put("namespace", data.Namespace, kindNamespace)
	out.Env = put("env", data.Env, kindPlain)
	out.Rule = put("rule", data.Rule, kindPlain)
	out.Severity = put("severity", data.Severity, kindPlain)
	out.IncidentID = put("incident", data.IncidentID, kindPlain)
	out.Revision = put("revision", data.Revision, kindRevision)
	out.TargetRevision = put("target revision", data.TargetRevision, kindRevision)
	sub := func(what string, m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		o := make(map[string]string, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			// Only names a template can write as .Labels.name reach it:
			// a range over the map must not emit an odd key verbatim.
			if !labelName.MatchString(k) {
				continue
			}
			kind := kindPlain
			switch k {
			case "namespace":
				kind = kindNamespace
			case "service", "app", "deployment", "statefulset", "daemonset", "pod", "container":
				kind = kindName
			}
			o[k] = put(what+" "+k, m[k], kind)
		}
		return o
	}
	out.Labels = sub("label", data.Labels)
	out.Annotations = sub("annotation", data.Annotations)
	return out, list
}

// valueKind is what a template value must look like.
type valueKind int

const (
	kindPlain valueKind = iota
	kindName
	kindNamespace
	kindRevision
)

// checkKind checks v against its kind.
func checkKind(field, v string, kind valueKind) checked {
	c := checked{field: field, value: v}
	switch kind {
	case kindName:
		c.ok, c.want = IsKubernetesName(v), "a Kubernetes name"
	case kindNamespace:
		c.ok, c.want = IsKubernetesLabel(v), "a Kubernetes name"
	case kindRevision:
		c.ok, c.want = IsRevision(v), "a Git SHA (7-64 hex digits) or a version"
	default:
		c.ok, c.want = IsPlainValue(v), "a plain name (letters, digits, '.', '_', '-')"
	}
	return c
}

// cut shortens an offending value for a message.
func cut(s string) string {
	const n = 60
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// RenderChecked runs a template that builds something a responder runs or
// follows (rollback.command, deploys.compare_url). Every value it uses must
// be of its kind: service and Kubernetes object labels a Kubernetes name,
// namespace a DNS-1123 label, revisions a Git SHA or a version, any other
// label, annotation or field a plain word. A value that is not never reaches
// the output: the result is a *WithheldError naming the first such value
// the template used. Values the template does not use are not checked.
func RenderChecked(text string, data TemplateData) (string, error) {
	safe, list := substitute(data, checkKind)
	out, err := Render(text, safe)
	if err != nil {
		return "", err
	}
	if !strings.Contains(out, "\x00") {
		return out, nil
	}
	for i, c := range list {
		if !c.ok && strings.Contains(out, marker(i)) {
			return "", &WithheldError{Field: c.field, Value: cut(c.value), Want: c.want}
		}
	}
	// The template cut a marker (printf "%.3s"): which value is unknown,
	// but one that failed its check was used.
	for _, c := range list {
		if !c.ok {
			return "", &WithheldError{Field: c.field, Value: cut(c.value), Want: c.want}
		}
	}
	return "", fmt.Errorf("run template %q: output holds a NUL", text)
}

// RenderQuery runs a value.query template. Every label, annotation and
// field it uses becomes the content of the PromQL string literal it stands
// in, escaped for that literal's quotes, so no value can end the string and
// add to the expression. A value used outside a "…" or '…' string is an
// error: there it would be PromQL syntax, not data.
func RenderQuery(text string, data TemplateData) (string, error) {
	safe, list := substitute(data, func(field, v string, _ valueKind) checked { return checked{field: field, value: v} })
	out, err := Render(text, safe)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	var quote byte // the open string's quote, 0 outside strings
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case c == 0:
			end := strings.IndexByte(out[i+1:], 0)
			n, convErr := strconv.Atoi(out[i+1 : i+1+max(end, 0)])
			if end < 0 || convErr != nil || n < 0 || n >= len(list) {
				return "", fmt.Errorf("query template %q cuts a value it uses", text)
			}
			v := list[n]
			if quote != '"' && quote != '\'' {
				return "", fmt.Errorf("query template %q uses the %s outside a quoted string", text, v.field)
			}
			b.WriteString(promQLEscape(v.value, quote))
			i += end + 1
			continue
		case quote == 0 && (c == '"' || c == '\'' || c == '`'):
			quote = c
		case quote != 0 && quote != '`' && c == '\\' && i+1 < len(out):
			if out[i+1] == 0 {
				return "", fmt.Errorf("query template %q puts a backslash before a value it uses", text)
			}
			b.WriteByte(c)
			i++
			c = out[i]
		case quote != 0 && c == quote:
			quote = 0
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// promQLEscape escapes s as the content of a PromQL string quoted with q
// (https://prometheus.io/docs/prometheus/latest/querying/basics/#string-literals):
// the backslash, the quote and every control character.
func promQLEscape(s string, q byte) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CheckQueryTemplate reports whether a value.query template puts every
// value it uses inside a quoted PromQL string, as RenderQuery requires: it
// renders the template with a value for every field and for each label and
// annotation the template names (.Labels.service, index .Labels "pod").
func CheckQueryTemplate(text string) error {
	t, err := parseTemplate("check", text)
	if err != nil {
		return err
	}
	labels, annotations := map[string]string{}, map[string]string{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			// index .Labels "name"
			if len(n.Args) == 3 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "index" {
					f, fok := n.Args[1].(*parse.FieldNode)
					k, kok := n.Args[2].(*parse.StringNode)
					if fok && kok && len(f.Ident) == 1 {
						name(f.Ident[0], k.Text, labels, annotations)
					}
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			if len(n.Ident) >= 2 {
				name(n.Ident[0], n.Ident[1], labels, annotations)
			}
		}
	}
	walk(t.Root)
	data := TemplateData{Service: "s", Env: "e", Rule: "r", Severity: "v", IncidentID: "i", Namespace: "n",
		Revision: "0000000", TargetRevision: "0000000", Labels: labels, Annotations: annotations}
	_, err = RenderQuery(text, data)
	return err
}

// name records a label or annotation a template names.
func name(field, key string, labels, annotations map[string]string) {
	switch field {
	case "Labels":
		labels[key] = "x"
	case "Annotations":
		annotations[key] = "x"
	}
}
