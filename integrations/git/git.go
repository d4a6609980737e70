// Package git reads deploy history from a GitOps repository with go-git,
// without a git binary: in GitOps a commit that changes a service's
// manifests on the deployed branch is a deploy of that service, so the
// commits that touched a path are its deploys. It knows repositories, not
// services: the caller maps a service to its path.
//
// A remote repository (https or http) is cloned into memory once and
// fetched again at most every minute; a repository on this machine's disk
// (a plain path or a file:// URL, such as a git-sync volume) is opened in
// place and read as it is at each call.
package git

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// DefaultFetchInterval is the least time between two fetches of one clone
// when a Cache does not set its own.
const DefaultFetchInterval = time.Minute

// DefaultUsername goes with a Token when Source.Username is empty: GitHub
// takes any user name with a token, and this one is what its app tokens use.
const DefaultUsername = "x-access-token"

// skewSlop is how many commits older than since the walk passes before it
// stops, so that one commit with a clock behind its parent's (a laptop's
// wrong clock) does not hide the deploys before it. git log uses five.
const skewSlop = 5

// Commit is one commit that touched the path.
type Commit struct {
	SHA     string
	Author  string // the author's name
	Email   string // the author's email
	Message string // the whole message, trailing newlines trimmed
	// Time is the committer's time: when the commit reached the branch (a
	// merge or a rebase), which for GitOps is when the deploy started. The
	// author's time can be days earlier.
	Time time.Time
}

// Source is one repository and branch. Use it by pointer, and do not copy
// it after its first History.
type Source struct {
	// URL is an https:// or http:// URL, a file:// URL, or a local path of
	// a repository (with a work tree or bare). ssh is not supported.
	URL string
	// Branch is the deployed branch; empty means the remote's default
	// branch (its HEAD), or the checked-out one of a local repository.
	Branch string
	// Username and Token are HTTP basic auth for a remote URL; a token
	// alone goes with DefaultUsername. Neither is used for local paths.
	Username, Token string
	// Cache holds the in-memory clones; Sources that share one share a
	// clone per URL and branch. Nil means a cache of this Source's own.
	Cache *Cache

	once sync.Once
	own  *Cache
}

// History returns the commits that touched path (a file or a directory,
// relative to the repository's root; "" is the whole repository) on the
// branch, newest first, with a Time at or after since, at most limit of
// them (limit <= 0: no limit).
//
// It follows first parents, as `git log --first-parent` does: a merged pull
// request counts once, as its merge commit, at the time it reached the
// branch, and its own commits, which were never deployed one by one, do
// not. A commit touched the path when the path's content or mode differs
// from its first parent's (for the root commit: the path exists). A path
// that never existed has no commits, and no error. A shallow repository's
// history ends at its shallow boundary.
func (s *Source) History(ctx context.Context, p string, since time.Time, limit int) ([]Commit, error) {
	clean, err := cleanPath(p)
	if err != nil {
		return nil, fmt.Errorf("git: history of %q: %w", p, err)
	}
	p = clean
	kind, loc, err := parseLocation(s.URL)
	if err != nil {
		return nil, fmt.Errorf("git: %s: %w", redact(s.URL), err)
	}
	if kind == local {
		repo, tip, err := openLocal(loc, s.Branch)
		if err != nil {
			return nil, fmt.Errorf("git: %s: %w", loc, err)
		}
		return walk(ctx, repo, tip, p, since, limit)
	}

	c := s.cache().clone(s.URL, s.Branch)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.update(ctx, s); err != nil {
		return nil, fmt.Errorf("git: %s: %w", redact(s.URL), err)
	}
	ref, err := c.repo.Reference(plumbing.NewRemoteReferenceName("origin", c.branch), true)
	if err != nil {
		return nil, fmt.Errorf("git: %s: branch %s: %w", redact(s.URL), c.branch, err)
	}
	return walk(ctx, c.repo, ref.Hash(), p, since, limit)
}

func (s *Source) cache() *Cache {
	if s.Cache != nil {
		return s.Cache
	}
	s.once.Do(func() { s.own = &Cache{} })
	return s.own
}

func (s *Source) auth() transport.AuthMethod {
	if s.Token == "" {
		return nil
	}
	user := s.Username
	if user == "" {
		user = DefaultUsername
	}
	return &githttp.BasicAuth{Username: user, Password: s.Token}
}

// Cache keeps in-memory clones of remote repositories, one per URL and
// branch, and fetches each at most every FetchInterval. The zero Cache is
// ready to use; it is safe for concurrent use. A clone lives as long as
// the Cache.
type Cache struct {
	// FetchInterval is the least time between two fetches of one clone;
	// zero means DefaultFetchInterval. A fetch that fails is tried again
	// at the next call.
	FetchInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	clones map[string]*clone
}

// clone is one repository cloned into memory. Its mutex is held across a
// clone or fetch and the walk that follows, so that the walk never reads a
// storage being written.
type clone struct {
	mu      sync.Mutex
	repo    *gogit.Repository // nil until the first clone succeeds
	branch  string            // the branch cloned: Source.Branch or the remote's HEAD
	fetched time.Time         // of the last successful clone or fetch
}

func (c *Cache) clone(rawURL, branch string) *clone {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clones == nil {
		c.clones = make(map[string]*clone)
	}
	key := rawURL + "\x00" + branch
	cl := c.clones[key]
	if cl == nil {
		cl = &clone{}
		c.clones[key] = cl
	}
	return cl
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) interval() time.Duration {
	if c.FetchInterval > 0 {
		return c.FetchInterval
	}
	return DefaultFetchInterval
}

// update clones the repository the first time and fetches the branch when
// the last fetch is older than the interval. The caller holds cl.mu.
func (cl *clone) update(ctx context.Context, s *Source) error {
	cache := s.cache()
	now := cache.now()
	if cl.repo == nil {
		opts := &gogit.CloneOptions{
			URL:          s.URL,
			Auth:         s.auth(),
			SingleBranch: true,
			NoCheckout:   true,
			Tags:         gogit.NoTags,
		}
		if s.Branch != "" {
			opts.ReferenceName = plumbing.NewBranchReferenceName(s.Branch)
		}
		repo, err := gogit.CloneContext(ctx, memory.NewStorage(), nil, opts)
		if err != nil {
			return fmt.Errorf("clone: %w", err)
		}
		branch := s.Branch
		if branch == "" {
			// Cloning the remote's HEAD leaves refs/remotes/origin/HEAD and a
			// local branch of HEAD's name; the later fetches update
			// origin/<branch>, so start that ref here.
			head, err := repo.Head()
			if err != nil {
				return fmt.Errorf("clone: HEAD: %w", err)
			}
			branch = head.Name().Short()
			ref := plumbing.NewHashReference(plumbing.NewRemoteReferenceName("origin", branch), head.Hash())
			if err := repo.Storer.SetReference(ref); err != nil {
				return fmt.Errorf("clone: %w", err)
			}
		}
		cl.repo, cl.branch, cl.fetched = repo, branch, now
		return nil
	}
	if now.Sub(cl.fetched) < cache.interval() {
		return nil
	}
	spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(cl.branch).String() + ":" +
		plumbing.NewRemoteReferenceName("origin", cl.branch).String())
	err := cl.repo.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{spec},
		Auth:       s.auth(),
		Tags:       gogit.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch %s: %w", cl.branch, err)
	}
	cl.fetched = now
	return nil
}

type locationKind int

const (
	local locationKind = iota
	remote
)

// parseLocation tells a remote URL from a local path (a file:// URL's path
// included).
func parseLocation(raw string) (locationKind, string, error) {
	if raw == "" {
		return 0, "", errors.New("no repository URL")
	}
	if !strings.Contains(raw, "://") {
		if at, colon := strings.Index(raw, "@"), strings.Index(raw, ":"); at >= 0 && colon > at &&
			!strings.Contains(raw[:colon], "/") {
			return 0, "", errors.New("ssh (user@host:path) is not supported: use an https URL with a token")
		}
		return local, raw, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return 0, "", err
	}
	switch u.Scheme {
	case "https", "http":
		if u.Host == "" {
			return 0, "", errors.New("no host in URL")
		}
		return remote, raw, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return 0, "", fmt.Errorf("file URL names host %q: only this machine's files can be read", u.Host)
		}
		if u.Path == "" {
			return 0, "", errors.New("file URL has no path")
		}
		return local, u.Path, nil
	}
	return 0, "", fmt.Errorf("scheme %q is not supported: use https, http, file or a local path", u.Scheme)
}

// openLocal opens a repository on disk and finds the branch's tip: the
// local branch, else origin's, or HEAD when branch is empty.
func openLocal(dir, branch string) (*gogit.Repository, plumbing.Hash, error) {
	repo, err := gogit.PlainOpenWithOptions(dir, &gogit.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if branch == "" {
		head, err := repo.Head()
		if err != nil {
			return nil, plumbing.ZeroHash, fmt.Errorf("HEAD: %w", err)
		}
		return repo, head.Hash(), nil
	}
	for _, name := range []plumbing.ReferenceName{
		plumbing.NewBranchReferenceName(branch),
		plumbing.NewRemoteReferenceName("origin", branch),
	} {
		ref, err := repo.Reference(name, true)
		if err == nil {
			return repo, ref.Hash(), nil
		}
		if !errors.Is(err, plumbing.ErrReferenceNotFound) {
			return nil, plumbing.ZeroHash, fmt.Errorf("branch %s: %w", branch, err)
		}
	}
	return nil, plumbing.ZeroHash, fmt.Errorf("branch %s not found", branch)
}

// cleanPath turns "./apps/checkout/" into "apps/checkout" and "/" or "."
// into "" (the whole repository). A path out of the repository is refused.
func cleanPath(p string) (string, error) {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", errors.New("path leaves the repository")
		}
	}
	return strings.TrimPrefix(path.Clean("/"+p), "/"), nil
}

// entry is what a path is in one commit's tree: its object and mode, or
// absent.
type entry struct {
	hash    plumbing.Hash
	mode    filemode.FileMode
	present bool
}

// walk lists the commits on the first-parent chain from tip that touched p.
func walk(ctx context.Context, repo *gogit.Repository, tip plumbing.Hash, p string, since time.Time, limit int) ([]Commit, error) {
	var parts []string
	if p != "" {
		parts = strings.Split(p, "/")
	}
	c, err := repo.CommitObject(tip)
	if err != nil {
		return nil, fmt.Errorf("git: commit %s: %w", tip, err)
	}
	cur, err := lookup(repo, c, parts)
	if err != nil {
		return nil, err
	}
	out := []Commit{}
	older := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("git: history of %q: %w", p, err)
		}
		var parent *object.Commit
		prev := entry{}
		if c.NumParents() > 0 {
			parent, err = c.Parent(0)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				// A shallow clone's boundary: whether c touched p is unknown.
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("git: parent of %s: %w", c.Hash, err)
			}
			if prev, err = lookup(repo, parent, parts); err != nil {
				return nil, err
			}
		}
		when := c.Committer.When
		if when.Before(since) {
			if older++; older > skewSlop {
				return out, nil
			}
		} else {
			older = 0
			if cur != prev {
				out = append(out, Commit{
					SHA:     c.Hash.String(),
					Author:  c.Author.Name,
					Email:   c.Author.Email,
					Message: strings.TrimRight(c.Message, "\n"),
					Time:    when,
				})
				if limit > 0 && len(out) >= limit {
					return out, nil
				}
			}
		}
		if parent == nil {
			return out, nil
		}
		c, cur = parent, prev
	}
}

// lookup finds the path in a commit's tree, walking one directory at a
// time so that a path through a file is simply absent.
func lookup(repo *gogit.Repository, c *object.Commit, parts []string) (entry, error) {
	tree, err := c.Tree()
	if err != nil {
		return entry{}, fmt.Errorf("git: tree of %s: %w", c.Hash, err)
	}
	if len(parts) == 0 {
		return entry{hash: tree.Hash, mode: filemode.Dir, present: true}, nil
	}
	for i, name := range parts {
		var found *object.TreeEntry
		for j := range tree.Entries {
			if tree.Entries[j].Name == name {
				found = &tree.Entries[j]
				break
			}
		}
		if found == nil {
			return entry{}, nil
		}
		if i == len(parts)-1 {
			return entry{hash: found.Hash, mode: found.Mode, present: true}, nil
		}
		if found.Mode != filemode.Dir {
			return entry{}, nil
		}
		if tree, err = repo.TreeObject(found.Hash); err != nil {
			return entry{}, fmt.Errorf("git: tree %s in %s: %w", found.Hash, c.Hash, err)
		}
	}
	return entry{}, nil
}

// redact hides the password of a URL with user info, for errors and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
