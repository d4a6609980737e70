package page

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testKey = "0123456789abcdef0123456789abcdef"

func query(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

func TestSignedLinks(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 4, 24, 38, 0, time.UTC)
	s := NewSigner(testKey, 30*24*time.Hour, "https://warroom.example.com/")
	link := s.Link("INC-7", now)
	// The expiry is 30 days on, rounded up to the hour: the link made
	// again within the hour is the same link.
	exp := now.Add(30 * 24 * time.Hour).Truncate(time.Hour).Add(time.Hour)
	if want := "https://warroom.example.com/incidents/INC-7?exp=" + itoa(exp.Unix()) + "&sig="; !strings.HasPrefix(link, want) {
		t.Fatalf("link %s, want the prefix %s", link, want)
	}
	if again := s.Link("INC-7", now.Add(20*time.Minute)); again != link {
		t.Errorf("within the hour: %s, then %s", link, again)
	}
	q := query(t, link)
	if err := s.Check("INC-7", q, now); err != nil {
		t.Errorf("its own link: %v", err)
	}
	if err := s.Check("INC-7", q, exp.Add(-time.Second)); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	if err := s.Check("INC-7", q, exp); !errors.Is(err, errExpired) {
		t.Errorf("at expiry: %v, want %v", err, errExpired)
	}
	if err := s.Check("INC-8", q, now); !errors.Is(err, errForged) {
		t.Errorf("another incident: %v, want %v", err, errForged)
	}
	// Another key, an edited expiry, an edited signature.
	if err := NewSigner(testKey+"x", time.Hour, "").Check("INC-7", q, now); !errors.Is(err, errForged) {
		t.Errorf("another key: %v", err)
	}
	later := url.Values{"exp": {itoa(exp.Unix() + 3600)}, "sig": q["sig"]}
	if err := s.Check("INC-7", later, now); !errors.Is(err, errForged) {
		t.Errorf("a later expiry: %v, want %v", err, errForged)
	}
	sig := []byte(q.Get("sig"))
	sig[3] ^= 1
	if err := s.Check("INC-7", url.Values{"exp": q["exp"], "sig": {string(sig)}}, now); !errors.Is(err, errForged) && !errors.Is(err, errMalformed) {
		t.Errorf("an edited signature: %v", err)
	}
	for _, bad := range []url.Values{{}, {"exp": q["exp"]}, {"sig": q["sig"]},
		{"exp": {"+" + q.Get("exp")}, "sig": q["sig"]}, {"exp": {"0" + q.Get("exp")}, "sig": q["sig"]},
		{"exp": {q.Get("exp"), q.Get("exp")}, "sig": q["sig"]}, {"exp": q["exp"], "sig": {q.Get("sig") + "="}},
		{"exp": q["exp"], "sig": {"AAAA"}}, {"exp": {"99999999999999999999"}, "sig": q["sig"]}} {
		if err := s.Check("INC-7", bad, now); !errors.Is(err, errMalformed) {
			t.Errorf("Check(%v) = %v, want %v", bad, err, errMalformed)
		}
	}
	// Without a key: no links, and none passes.
	var none *Signer
	if NewSigner("", time.Hour, "https://x") != nil || none.Link("INC-7", now) != "" || none.Check("INC-7", q, now) == nil {
		t.Error("no key: a link was made or passed")
	}
	// Without a base address: no links either.
	if NewSigner(testKey, time.Hour, "").Link("INC-7", now) != "" {
		t.Error("a link without public_url")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
