package jirawiki

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/warroom/warroom/bot/render"
)

// wikiNoformatOpen matches what would end a {noformat} block early: the
// macro's name after a brace, in any case.
var wikiNoformatOpen = regexp.MustCompile(`(?i)\{noformat`)

// wikiZeroWidthSpace breaks markup that must not be recognised without
// showing anything.
const wikiZeroWidthSpace = "\u200b"

// wikiNoformatSafe makes text safe inside a {noformat} block: nothing is
// parsed there but the closing {noformat}, so a zero-width space goes
// after every brace that starts one, whatever its case. The text is cut
// to limit before, so that the cut cannot split what it inserts.
func wikiNoformatSafe(s string, limit int) string {
	if render.TextLen(s) > limit {
		n, cut := 0, len(s)
		for i, r := range s {
			if n+render.RuneLen(r) > limit-1 {
				cut = i
				break
			}
			n += render.RuneLen(r)
		}
		s = s[:cut] + "…"
	}
	return wikiNoformatOpen.ReplaceAllStringFunc(s, func(m string) string { return m[:1] + wikiZeroWidthSpace + m[1:] })
}

// Escape makes an untrusted value inert in Jira wiki markup: it shows
// as the text it is, and cannot make markup, a link, a macro, a mention,
// an image, a heading, a list or a table.
//
//   - Newlines are normalised to \n; control characters, bidirectional
//     overrides and zero-width spaces are removed, tabs become spaces.
//   - Every character Jira unescapes after a backslash — ! [ ] ^ ~ + ? %
//     { } ( ) * _ - | @ # — gets one: [~admin] becomes \[\~admin\],
//     {noformat} \{noformat\}, !x.png! \!x.png\!, a list's "* " "\* ",
//     a table's "||" "\|\|".
//   - A backslash stays itself before a character that does not make it
//     an escape or a line break (C:\Users); otherwise it becomes the
//     entity &#92;, as "\\" is a line break in Jira.
//   - A line that would start a heading (h1. … h6.) or a quote (bq.) starts
//     with a zero-width space, which no block pattern matches.
//
// Bare URLs in the text are left to Jira, which links them showing the URL
// itself.
func Escape(s string) string { return escapeWiki(s, 0) }

// wikiEscapable are the characters Jira's renderer unescapes after a
// backslash (atlassian-renderer's BackslashEscapeRendererComponent).
const wikiEscapable = "![]^~+?%{}()*_-|@#"

// wikiBackslash is a literal backslash that nothing can pair with.
const wikiBackslash = "&#92;"

// wikiBlockMarker matches the block markers a backslash cannot escape, at the
// start of a line after optional blanks.
var wikiBlockMarker = regexp.MustCompile(`^[ ]*(?i:h[1-6]|bq)\.`)

// escapeWiki escapes s as Escape does and, when limit > 0 and the
// result is longer, cuts it to limit characters with "…", never inside an
// escape. It reads no more of s than can show: cleaning at most halves
// the runes kept (\r\n), and a cut ends in "…" even then.
func escapeWiki(s string, limit int) string {
	cut := false
	if limit > 0 {
		s, cut = wikiHead(s, 2*(limit+1))
	}
	return escapeClean(cleanWiki(s), limit, cut)
}

// wikiInline escapes s folded to one line (every run of whitespace, a
// newline included, becomes one space) and cuts it to limit. It reads no
// more of s than can show.
func wikiInline(s string, limit int) string {
	var b strings.Builder
	n, space, cut := 0, false, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = n > 0
			continue
		}
		if r = wikiCleanRune(r); r < 0 {
			continue
		}
		if limit > 0 && n > limit {
			cut = true
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return escapeClean(b.String(), limit, cut)
}

// wikiHead returns the first n runes of s, and whether there was more.
func wikiHead(s string, n int) (string, bool) {
	for i := range s {
		if n == 0 {
			return s[:i], true
		}
		n--
	}
	return s, false
}

// escapeClean escapes cleaned text; cut says that text is the head of a
// longer value, so that it must end in "…".
func escapeClean(text string, limit int, cut bool) string {
	rs := []rune(text)
	if limit > 0 && len(rs) > limit+1 {
		// Every rune makes at least one character, so the runes past
		// limit cannot show; one more is kept for the backslash rule.
		rs = rs[:limit+1]
	}
	units := make([]string, 0, len(rs))
	lineStart := true
	for i, r := range rs {
		var u string
		switch {
		case r == '\\':
			u = wikiBackslash
			if i+1 < len(rs) && rs[i+1] != '\\' && rs[i+1] != '\n' && !strings.ContainsRune(wikiEscapable, rs[i+1]) {
				u = `\`
			}
		case strings.ContainsRune(wikiEscapable, r):
			u = `\` + string(r)
		default:
			u = string(r)
		}
		if lineStart && wikiBlockMarker.MatchString(wikiFirstLine(rs[i:])) {
			u = wikiZeroWidthSpace + u
		}
		lineStart = r == '\n'
		units = append(units, u)
	}
	n := 0
	for _, u := range units {
		n += render.TextLen(u)
	}
	if limit <= 0 || (n <= limit && !cut) {
		return strings.Join(units, "")
	}
	var b strings.Builder
	n = 0
	for _, u := range units {
		if n+render.TextLen(u) > limit-1 {
			break
		}
		b.WriteString(u)
		n += render.TextLen(u)
	}
	return b.String() + "…"
}

// wikiFirstLine is the first line of rs.
func wikiFirstLine(rs []rune) string {
	if i := slices.Index(rs, '\n'); i >= 0 {
		rs = rs[:i]
	}
	return string(rs)
}

// cleanWiki normalises newlines and drops the characters that have no
// business in a ticket: control characters but \n (a tab becomes a
// space), bidirectional overrides, which could make a command read
// differently from what it is, zero-width spaces (warroom's own), and
// byte-order marks. Invalid UTF-8 becomes U+FFFD.
func cleanWiki(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(s)
	return strings.Map(wikiCleanRune, s)
}

// wikiCleanRune is r as cleanWiki keeps it, or -1 to drop it.
func wikiCleanRune(r rune) rune {
	switch {
	case r == '\n':
		return r
	case r == '\t':
		return ' '
	case unicode.IsControl(r),
		r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f,
		r == 0x200b, r == 0xfeff:
		return -1
	}
	return r
}

// boundWiki keeps s within limit characters. The renderers bound every
// part, so this only guards against a bound forgotten: it cuts at a line
// end, closes a {noformat} block left open, and says so.
func boundWiki(s string, limit int) string {
	if render.TextLen(s) <= limit {
		return s
	}
	const note = "\n{noformat}\n_(cut to fit Jira's limit)_"
	n, cut := 0, 0
	for i, r := range s {
		if n+render.RuneLen(r) > limit-len(note) {
			break
		}
		n += render.RuneLen(r)
		if r == '\n' {
			cut = i
		}
	}
	s = s[:cut]
	if strings.Count(s, "{noformat}")%2 == 1 {
		return s + note
	}
	return s + strings.TrimPrefix(note, "\n{noformat}")
}
