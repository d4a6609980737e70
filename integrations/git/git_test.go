package git_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"

	"github.com/warroom/warroom/integrations/git"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// repo builds a GitOps repository in a temporary directory with go-git.
type repo struct {
	t   *testing.T
	dir string
	r   *gogit.Repository
	wt  *gogit.Worktree
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	return newRepoOn(t, "main")
}

func newRepoOn(t *testing.T, branch string) *repo {
	t.Helper()
	dir := t.TempDir()
	r, err := gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return &repo{t: t, dir: dir, r: r, wt: wt}
}

// commit writes files (a nil content removes the file) and commits them
// as author at authored, committed at committed.
type change map[string]*string

func text(s string) *string { return &s }

func (r *repo) commit(files change, msg, author string, authored, committed time.Time, parents ...plumbing.Hash) plumbing.Hash {
	r.t.Helper()
	for name, content := range files {
		full := filepath.Join(r.dir, filepath.FromSlash(name))
		if content == nil {
			if _, err := r.wt.Remove(name); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(*content), 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := r.wt.Add(name); err != nil {
			r.t.Fatal(err)
		}
	}
	h, err := r.wt.Commit(msg, &gogit.CommitOptions{
		Author:            &object.Signature{Name: author, Email: strings.ToLower(author) + "@example.com", When: authored},
		Committer:         &object.Signature{Name: "CI", Email: "ci@example.com", When: committed},
		Parents:           parents,
		AllowEmptyCommits: len(files) == 0,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *repo) at(when time.Time, files change, msg string) plumbing.Hash {
	r.t.Helper()
	return r.commit(files, msg, "Bob", when, when)
}

func (r *repo) checkout(branch string, create bool) {
	r.t.Helper()
	if err := r.wt.Checkout(&gogit.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: create}); err != nil {
		r.t.Fatal(err)
	}
}

// history is the test repository: main with deploys of checkout and cart,
// and a feature branch merged into main.
type history struct {
	*repo
	c1, c2, c3, c4, c5, c6, c7, f1, c8, merge plumbing.Hash
}

func gitops(t *testing.T) *history {
	h := &history{repo: newRepo(t)}
	h.c1 = h.at(t0, change{
		"apps/checkout/deploy.yaml": text("image: checkout:1\n"),
		"apps/cart/deploy.yaml":     text("image: cart:1\n"),
		"README.md":                 text("gitops\n"),
	}, "bootstrap")
	// Authored three days before it was merged.
	h.c2 = h.commit(change{"apps/checkout/deploy.yaml": text("image: checkout:2\n")},
		"checkout: v2\n\nRoll out the new payment flow.\n", "Alice", t0.Add(-72*time.Hour), t0.Add(time.Hour))
	h.c3 = h.at(t0.Add(2*time.Hour), change{"apps/cart/deploy.yaml": text("image: cart:2\n")}, "cart: v2")
	h.c4 = h.at(t0.Add(3*time.Hour), change{"README.md": text("gitops, documented\n")}, "docs")
	h.c5 = h.at(t0.Add(4*time.Hour), change{"apps/checkout/values.yaml": text("replicas: 3\n")}, "checkout: replicas")
	h.c6 = h.at(t0.Add(5*time.Hour), change{
		"apps/checkout/deploy.yaml": text("image: checkout:3\n"),
		"apps/cart/deploy.yaml":     text("image: cart:3\n"),
	}, "both: v3")
	h.c7 = h.at(t0.Add(6*time.Hour), change{"apps/checkout/values.yaml": nil}, "checkout: drop values")

	h.checkout("feature", true)
	h.f1 = h.at(t0.Add(6*time.Hour+30*time.Minute), change{"apps/cart/deploy.yaml": text("image: cart:4\n")}, "cart: v4 (on the branch)")
	h.checkout("main", false)
	h.c8 = h.at(t0.Add(7*time.Hour), change{"README.md": text("gitops, documented again\n")}, "docs again")
	h.merge = h.commit(change{"apps/cart/deploy.yaml": text("image: cart:4\n")},
		"Merge branch 'feature'", "Carol", t0.Add(8*time.Hour), t0.Add(8*time.Hour), h.c8, h.f1)
	return h
}

func shas(cs []git.Commit) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.SHA[:8])
	}
	return out
}

func short(hs ...plumbing.Hash) []string {
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		out = append(out, h.String()[:8])
	}
	return out
}

func same(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestHistoryFiltersByPath(t *testing.T) {
	h := gitops(t)
	src := &git.Source{URL: h.dir}
	ctx := context.Background()
	for _, tc := range []struct {
		path string
		want []plumbing.Hash
	}{
		{"apps/checkout", []plumbing.Hash{h.c7, h.c6, h.c5, h.c2, h.c1}},
		{"apps/checkout/deploy.yaml", []plumbing.Hash{h.c6, h.c2, h.c1}},
		{"apps/checkout/values.yaml", []plumbing.Hash{h.c7, h.c5}},
		// The merge, not the branch's own commit.
		{"apps/cart", []plumbing.Hash{h.merge, h.c6, h.c3, h.c1}},
		{"./apps/cart/", []plumbing.Hash{h.merge, h.c6, h.c3, h.c1}},
		{"/apps/cart", []plumbing.Hash{h.merge, h.c6, h.c3, h.c1}},
		{"README.md", []plumbing.Hash{h.c8, h.c4, h.c1}},
		{"", []plumbing.Hash{h.merge, h.c8, h.c7, h.c6, h.c5, h.c4, h.c3, h.c2, h.c1}},
		{"apps/payments", nil},
		{"README.md/inside", nil},
		{"apps/checkout/deploy", nil},
	} {
		got, err := src.History(ctx, tc.path, time.Time{}, 0)
		if err != nil {
			t.Fatalf("%q: %v", tc.path, err)
		}
		if got == nil || !same(shas(got), short(tc.want...)) {
			t.Errorf("%q: got %v, want %v", tc.path, shas(got), short(tc.want...))
		}
	}
}

func TestHistoryCommitFields(t *testing.T) {
	h := gitops(t)
	got, err := (&git.Source{URL: h.dir}).History(context.Background(), "apps/checkout/deploy.yaml", t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []git.Commit{
		{SHA: h.c6.String(), Author: "Bob", Email: "bob@example.com", Message: "both: v3", Time: t0.Add(5 * time.Hour)},
		{SHA: h.c2.String(), Author: "Alice", Email: "alice@example.com", Message: "checkout: v2\n\nRoll out the new payment flow.",
			Time: t0.Add(time.Hour)}, // the committer's time, not the author's
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].SHA != want[i].SHA || got[i].Author != want[i].Author || got[i].Email != want[i].Email ||
			got[i].Message != want[i].Message || !got[i].Time.Equal(want[i].Time) {
			t.Errorf("commit %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestHistorySinceAndLimit(t *testing.T) {
	h := gitops(t)
	src := &git.Source{URL: h.dir}
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		path  string
		since time.Time
		limit int
		want  []plumbing.Hash
	}{
		{"since is inclusive", "apps/checkout", t0.Add(4 * time.Hour), 0, []plumbing.Hash{h.c7, h.c6, h.c5}},
		{"since between commits", "apps/checkout", t0.Add(4*time.Hour + time.Second), 0, []plumbing.Hash{h.c7, h.c6}},
		{"since after everything", "apps/checkout", t0.Add(9 * time.Hour), 0, nil},
		{"limit keeps the newest", "apps/checkout", time.Time{}, 2, []plumbing.Hash{h.c7, h.c6}},
		{"limit and since", "apps/cart", t0.Add(90 * time.Minute), 1, []plumbing.Hash{h.merge}},
		{"limit above the count", "apps/cart", time.Time{}, 50, []plumbing.Hash{h.merge, h.c6, h.c3, h.c1}},
		{"negative limit is none", "apps/cart", time.Time{}, -1, []plumbing.Hash{h.merge, h.c6, h.c3, h.c1}},
	} {
		got, err := src.History(ctx, tc.path, tc.since, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !same(shas(got), short(tc.want...)) {
			t.Errorf("%s: got %v, want %v", tc.name, shas(got), short(tc.want...))
		}
	}
}

// A commit whose clock is behind its parent's does not end the walk early.
func TestHistorySkewedClock(t *testing.T) {
	r := newRepo(t)
	a := r.at(t0, change{"app/x": text("1")}, "a")
	b := r.at(t0.Add(2*time.Hour), change{"app/x": text("2")}, "b")
	r.at(t0.Add(-time.Hour), change{"other": text("1")}, "skewed")
	d := r.at(t0.Add(3*time.Hour), change{"app/x": text("3")}, "d")
	got, err := (&git.Source{URL: r.dir}).History(context.Background(), "app", t0.Add(time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !same(shas(got), short(d, b)) {
		t.Errorf("got %v, want %v (a %v is before since)", shas(got), short(d, b), short(a))
	}
}

func TestHistoryLocalForms(t *testing.T) {
	h := gitops(t)
	ctx := context.Background()
	want := short(h.c7, h.c6, h.c5, h.c2, h.c1)
	for _, src := range []*git.Source{
		{URL: h.dir},
		{URL: h.dir, Branch: "main"},
		{URL: "file://" + filepath.ToSlash(h.dir)},
		{URL: "file://localhost" + filepath.ToSlash(h.dir)},
		{URL: filepath.Join(h.dir, ".git")},
	} {
		got, err := src.History(ctx, "apps/checkout", time.Time{}, 0)
		if err != nil {
			t.Errorf("%s: %v", src.URL, err)
			continue
		}
		if !same(shas(got), want) {
			t.Errorf("%s: got %v, want %v", src.URL, shas(got), want)
		}
	}
	// Another branch: the feature branch has its own commit and not the merge.
	got, err := (&git.Source{URL: h.dir, Branch: "feature"}).History(ctx, "apps/cart", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := short(h.f1, h.c6, h.c3, h.c1); !same(shas(got), want) {
		t.Errorf("feature: got %v, want %v", shas(got), want)
	}
	// A local repository is read as it is now: a new commit shows at once.
	c9 := h.at(t0.Add(9*time.Hour), change{"apps/checkout/deploy.yaml": text("image: checkout:4\n")}, "checkout: v4")
	got, err = (&git.Source{URL: h.dir}).History(ctx, "apps/checkout", time.Time{}, 1)
	if err != nil || !same(shas(got), short(c9)) {
		t.Errorf("after a new commit: %v, %v", shas(got), err)
	}
}

func TestHistoryErrors(t *testing.T) {
	h := gitops(t)
	ctx := context.Background()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	notGit := httptest.NewServer(http.NotFoundHandler())
	defer notGit.Close()
	for _, tc := range []struct {
		name string
		src  *git.Source
		path string
		want string
	}{
		{"no URL", &git.Source{}, "apps", "no repository URL"},
		{"missing directory", &git.Source{URL: filepath.Join(t.TempDir(), "nope")}, "apps", "repository does not exist"},
		{"not a repository", &git.Source{URL: t.TempDir()}, "apps", "repository does not exist"},
		{"unknown branch", &git.Source{URL: h.dir, Branch: "release"}, "apps", "branch release not found"},
		{"ftp", &git.Source{URL: "ftp://example.org/repo.git"}, "apps", `scheme "ftp" is not supported`},
		{"ssh URL", &git.Source{URL: "ssh://git@example.org/repo.git"}, "apps", `scheme "ssh" is not supported`},
		{"scp-style ssh", &git.Source{URL: "git@example.org:org/repo.git"}, "apps", "ssh (user@host:path) is not supported"},
		{"file URL of another host", &git.Source{URL: "file://example.org/srv/repo"}, "apps", "only this machine's files"},
		{"nothing listening", &git.Source{URL: closedURL + "/repo.git"}, "apps", "clone"},
		{"not a git server", &git.Source{URL: notGit.URL + "/repo.git"}, "apps", "repository not found"},
		{"path out of the repository", &git.Source{URL: h.dir}, "../etc", "path leaves the repository"},
		{"password in the URL is not shown", &git.Source{URL: "gopher://bob:hunter2@example.org/x"}, "apps", "bob:xxxxx@"},
	} {
		got, err := tc.src.History(ctx, tc.path, time.Time{}, 0)
		if err == nil {
			t.Errorf("%s: no error, %d commits", tc.name, len(got))
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %q does not say %q", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password: %v", tc.name, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (&git.Source{URL: h.dir}).History(cancelled, "apps", time.Time{}, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// gitServer serves repositories over git's smart HTTP protocol with
// go-git's own server, so that remote clones and fetches are tested
// without a git binary or a network. It counts reference advertisements
// requests (one per clone or fetch) and checks basic auth when a token is
// set.
type gitServer struct {
	*httptest.Server
	adverts atomic.Int32

	mu    sync.Mutex
	token string
}

func (gs *gitServer) getToken() string {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return gs.token
}

func (gs *gitServer) setToken(tok string) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	gs.token = tok
}

func newGitServer(t *testing.T, dir, token string) *gitServer {
	t.Helper()
	gs := &gitServer{token: token}
	gs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/repo.git/info/refs" {
			gs.adverts.Add(1)
		}
		if tok := gs.getToken(); tok != "" {
			if user, pass, ok := r.BasicAuth(); !ok || user == "" || pass != tok {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		ep, err := transport.NewEndpoint(filepath.Join(dir, ".git"))
		if err != nil {
			t.Errorf("endpoint: %v", err)
			return
		}
		sess, err := server.DefaultServer.NewUploadPackSession(ep, nil)
		if err != nil {
			t.Errorf("session: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer sess.Close()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/repo.git/info/refs" && r.URL.Query().Get("service") == "git-upload-pack":
			ar, err := sess.AdvertisedReferencesContext(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			if err := ar.Encode(w); err != nil {
				t.Errorf("advertise: %v", err)
			}
		case r.Method == http.MethodPost && r.URL.Path == "/repo.git/git-upload-pack":
			req := packp.NewUploadPackRequest()
			if err := req.Decode(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			resp, err := sess.UploadPack(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer resp.Close()
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			if err := resp.Encode(w); err != nil {
				t.Errorf("upload-pack: %v", err)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(gs.Close)
	return gs
}

func (gs *gitServer) url() string { return gs.URL + "/repo.git" }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// A remote repository is cloned into memory once, then fetched at most every
// FetchInterval; Sources sharing a Cache share the clone.
func TestHistoryRemoteClonesAndFetches(t *testing.T) {
	h := gitops(t)
	gs := newGitServer(t, h.dir, "")
	clk := &clock{t: time.Now()}
	cache := &git.Cache{Now: clk.now}
	src := &git.Source{URL: gs.url(), Cache: cache}
	ctx := context.Background()

	got, err := src.History(ctx, "apps/cart", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := short(h.merge, h.c6, h.c3, h.c1); !same(shas(got), want) {
		t.Errorf("cloned: got %v, want %v", shas(got), want)
	}
	if n := gs.adverts.Load(); n != 1 {
		t.Errorf("%d reference advertisements for one clone", n)
	}

	c9 := h.at(t0.Add(9*time.Hour), change{"apps/cart/deploy.yaml": text("image: cart:5\n")}, "cart: v5")
	clk.add(59 * time.Second)
	got, err = src.History(ctx, "apps/cart", time.Time{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !same(shas(got), short(h.merge)) || gs.adverts.Load() != 1 {
		t.Errorf("within the minute: got %v after %d advertisements, want the cached %v and no fetch",
			shas(got), gs.adverts.Load(), short(h.merge))
	}
	// Another Source of the same URL and Cache uses the same clone.
	other := &git.Source{URL: gs.url(), Cache: cache}
	if got, err := other.History(ctx, "apps/checkout", time.Time{}, 1); err != nil || !same(shas(got), short(h.c7)) {
		t.Errorf("shared clone: %v, %v", shas(got), err)
	}
	if n := gs.adverts.Load(); n != 1 {
		t.Errorf("a second Source on the same cache cloned again (%d advertisements)", n)
	}

	clk.add(time.Second)
	got, err = src.History(ctx, "apps/cart", time.Time{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := short(c9, h.merge); !same(shas(got), want) || gs.adverts.Load() != 2 {
		t.Errorf("after the minute: got %v after %d advertisements, want %v and one fetch", shas(got), gs.adverts.Load(), want)
	}
	// Nothing new: the fetch finds the clone up to date.
	clk.add(time.Minute)
	if got, err := src.History(ctx, "apps/cart", time.Time{}, 1); err != nil || !same(shas(got), short(c9)) {
		t.Errorf("up to date: %v, %v", shas(got), err)
	}
	if n := gs.adverts.Load(); n != 3 {
		t.Errorf("%d advertisements, want 3", n)
	}

	// The feature branch, by name, is its own clone.
	feature := &git.Source{URL: gs.url(), Branch: "feature", Cache: cache}
	if got, err := feature.History(ctx, "apps/cart", time.Time{}, 1); err != nil || !same(shas(got), short(h.f1)) {
		t.Errorf("feature branch: %v, %v", shas(got), err)
	}
	if _, err := (&git.Source{URL: gs.url(), Branch: "release", Cache: cache}).History(ctx, "apps", time.Time{}, 0); err == nil {
		t.Error("a branch the remote lacks was cloned")
	}
}

// A failed fetch is an error, not stale history, and is tried again at the
// next call; the clone is kept.
func TestHistoryRemoteFetchFailure(t *testing.T) {
	h := gitops(t)
	gs := newGitServer(t, h.dir, "")
	clk := &clock{t: time.Now()}
	src := &git.Source{URL: gs.url(), Cache: &git.Cache{Now: clk.now, FetchInterval: time.Second}}
	ctx := context.Background()
	if _, err := src.History(ctx, "apps", time.Time{}, 0); err != nil {
		t.Fatal(err)
	}
	gs.setToken("now-required")
	clk.add(time.Second)
	if _, err := src.History(ctx, "apps", time.Time{}, 0); err == nil || !strings.Contains(err.Error(), "fetch main") {
		t.Errorf("fetch refused: %v", err)
	}
	gs.setToken("")
	got, err := src.History(ctx, "apps", time.Time{}, 1)
	if err != nil || !same(shas(got), short(h.merge)) {
		t.Errorf("after the server came back: %v, %v", shas(got), err)
	}
	if n := gs.adverts.Load(); n != 3 {
		t.Errorf("%d advertisements, want 3 (clone, refused fetch, fetch)", n)
	}
}

func TestHistoryRemoteAuth(t *testing.T) {
	h := gitops(t)
	gs := newGitServer(t, h.dir, "s3cret-token")
	ctx := context.Background()
	for _, tc := range []struct {
		name, user, token string
		ok                bool
	}{
		{"no token", "", "", false},
		{"wrong token", "", "wrong", false},
		{"token", "", "s3cret-token", true},
		{"token with a user", "deploy-bot", "s3cret-token", true},
	} {
		src := &git.Source{URL: gs.url(), Username: tc.user, Token: tc.token}
		got, err := src.History(ctx, "apps/checkout", time.Time{}, 1)
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if err != nil && (!errors.Is(err, transport.ErrAuthenticationRequired) && !errors.Is(err, transport.ErrAuthorizationFailed)) {
			t.Errorf("%s: %v, want an authentication error", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the token: %v", tc.name, err)
		}
		if tc.ok && !same(shas(got), short(h.c7)) {
			t.Errorf("%s: got %v", tc.name, shas(got))
		}
	}
}

// The remote's default branch is found from its HEAD when Branch is empty.
func TestHistoryRemoteDefaultBranch(t *testing.T) {
	r := newRepoOn(t, "trunk")
	c := r.at(t0, change{"app/x": text("1")}, "first on trunk")
	gs := newGitServer(t, r.dir, "")
	got, err := (&git.Source{URL: gs.url()}).History(context.Background(), "app", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !same(shas(got), short(c)) {
		t.Errorf("got %v, want %v", shas(got), short(c))
	}
}

// A change of mode alone (the executable bit) is a change of the path.
func TestHistoryModeChange(t *testing.T) {
	r := newRepo(t)
	a := r.at(t0, change{"app/run.sh": text("echo hi\n"), "other": text("x")}, "add")
	r.at(t0.Add(time.Hour), change{"other": text("y")}, "other")
	if err := os.Chmod(filepath.Join(r.dir, "app", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := r.wt.Add("app/run.sh"); err != nil {
		t.Fatal(err)
	}
	b := r.at(t0.Add(2*time.Hour), nil, "chmod +x")
	got, err := (&git.Source{URL: r.dir}).History(context.Background(), "app/run.sh", time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !same(shas(got), short(b, a)) {
		t.Errorf("got %v, want %v", shas(got), short(b, a))
	}
}
