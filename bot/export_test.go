package bot

import "github.com/warroom/warroom/incident"

// StoreOf returns a Server's store, for the tests of package bot_test that
// break it or read it directly; production code has no use for it.
func StoreOf(s *Server) incident.Store { return s.store }

// WakeWorker tells a Server's job worker that jobs may be due: a test
// that moves the clock of the server wakes it, rather than wait for its
// next poll.
func WakeWorker(s *Server) { s.worker.Notify() }
