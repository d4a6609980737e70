package postmortem

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/warroom/warroom/bot/render"
)

// The draft is CommonMark with GitHub's tables and task lists (GFM), the
// Markdown that GitHub, GitLab, Confluence's importer and most editors
// read. Every value that alert content, a deploy record or a responder
// chose is made inert with Text (one line of text) or Code (a block of
// code); links are made only by Link, of URLs that passed the host
// allow-list.

// markdownEscapes are the ASCII punctuation characters Text escapes with
// a backslash, which CommonMark allows before any of them (spec 2.4):
// those that make emphasis (* _ ~), code (`), links and images ([ ] !),
// raw HTML, autolinks and entities (< > &), table cells (|), math ($, on
// GitHub) and mentions (@, which also starts an email autolink), and the
// backslash itself. A "#" makes a heading only at the start of a line,
// where no value stands, or closes one at its end (Heading escapes it).
const markdownEscapes = "\\`*_~[]!<>&|$@"

// Text makes an untrusted value one line of inert Markdown text, cut to
// limit characters (limit > 0) with "…": whitespace runs (newlines too)
// become one space, control characters, bidirectional overrides and
// zero-width characters are dropped, the characters of markdownEscapes
// are escaped, and so is a block marker at its start (leadingMarker). GitHub's extended autolinks (a bare
// "https://…" or "www.…") are broken by escaping their ":" or "." (an
// escaped character is a text node of its own, and the autolink extension
// looks within one). An empty value stays "".
func Text(s string, limit int) string {
	s = clean(s, limit)
	var b strings.Builder
	lead := leadingMarker(s)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == lead:
			b.WriteByte('\\')
		case strings.IndexByte(markdownEscapes, c) >= 0:
			b.WriteByte('\\')
		case c == ':' && strings.HasPrefix(s[i:], "://"):
			b.WriteByte('\\')
		case c == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www") && (i == 3 || !isWordByte(s[i-4])):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// leadingMarker is the index of the byte that would make s, at the start
// of a list item's content (where a value may stand: "- <operation>,
// …"), the marker of a block of its own: a heading's "#" or a list's "-"
// or "+" (and "*", escaped anyway) before a space, the end or more of
// the same (a thematic break, "## h"), an ordered list's "." or ")"
// after at most nine digits and before a space or the end; -1 for none.
func leadingMarker(s string) int {
	ends := func(i int) bool { return i == len(s) || s[i] == ' ' }
	if s == "" {
		return -1
	}
	if strings.IndexByte("#-+", s[0]) >= 0 && (ends(1) || s[1] == s[0]) {
		return 0
	}
	digits := 0
	for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	if digits > 0 && digits <= 9 && digits < len(s) && (s[digits] == '.' || s[digits] == ')') && ends(digits+1) {
		return digits
	}
	return -1
}

// isWordByte is a byte of a word: an ASCII letter or digit.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// clean folds s to one line of at most limit runes (limit > 0), dropping
// what has no business in a document. It reads no more of s than can
// show.
func clean(s string, limit int) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		if dropped(r) {
			continue
		}
		if limit > 0 && n >= limit {
			return strings.TrimRight(b.String(), " ") + "…"
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
			if limit > 0 && n >= limit {
				return strings.TrimRight(b.String(), " ") + "…"
			}
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// dropped reports the characters a document never shows: control
// characters, bidirectional overrides (which make text read other than
// it is), zero-width characters, byte-order marks and U+FFFD's cause,
// invalid UTF-8.
func dropped(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
		r == 0x200b || r == 0x200c || r == 0x200d || r == 0x200e || r == 0x200f || r == 0x2060 || r == 0xfeff
}

// Heading is Text for the end of a heading's line, where a run of "#"
// after a space would be read as the heading's closing sequence.
func Heading(s string, limit int) string { return strings.ReplaceAll(Text(s, limit), "#", "\\#") }

// Code renders s as a fenced code block, inside which nothing is markup:
// its fence is longer than any run of backticks in s, so that no line of
// s can close it. Lines are kept (at most maxCodeLines, each cut to
// maxCodeLine runes); control characters are dropped.
func Code(s string) string {
	lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s), "\n")
	if len(lines) > maxCodeLines {
		lines = append(lines[:maxCodeLines], "…")
	}
	longest := 0
	for i, l := range lines {
		var b strings.Builder
		n := 0
		for _, r := range l {
			if r == '\t' {
				r = ' '
			}
			if dropped(r) {
				continue
			}
			if n == maxCodeLine {
				b.WriteString("…")
				break
			}
			b.WriteRune(r)
			n++
		}
		lines[i] = b.String()
		run := 0
		for _, r := range lines[i] {
			if r == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + "\n" + strings.Join(lines, "\n") + "\n" + fence
}

// The bounds of a code block.
const (
	maxCodeLines = 40
	maxCodeLine  = 500
)

// Link renders a link to raw titled title (inert text, as Text makes it),
// or the title alone when raw is not an absolute http(s) URL of at most
// render.MaxURL characters. The URL is percent-encoded where Markdown
// would read it (spaces, brackets, parentheses, angle brackets, quotes,
// backslashes, pipes, backticks) so that it cannot end the link early.
// Links are made only of URLs the host allow-list kept (render.Hosts).
func Link(title, raw string) string {
	u, ok := linkURL(raw)
	if !ok {
		return title
	}
	return "[" + title + "](" + u + ")"
}

// linkURLEscapes are the ASCII bytes percent-encoded in a link's URL.
const linkURLEscapes = " <>()[]`\"'\\|{}"

func linkURL(raw string) (string, bool) { return render.LinkURL(raw, linkURLEscapes) }
