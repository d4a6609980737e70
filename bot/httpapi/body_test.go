package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/iotest"
)

// readBody returns the whole body whether or not the client said how
// long it is, and stops at the limit.
func TestReadBody(t *testing.T) {
	t.Parallel()
	body := bytes.Repeat([]byte("0123456789"), 300)
	for _, tc := range []struct {
		name          string
		r             io.Reader
		contentLength int64
	}{
		{"length given", bytes.NewReader(body), int64(len(body))},
		{"chunked", bytes.NewReader(body), -1},
		{"a byte at a time", iotest.OneByteReader(bytes.NewReader(body)), -1},
		{"length understated", bytes.NewReader(body), 10},
		{"length over the limit", bytes.NewReader(body), 1 << 40},
	} {
		got, err := readBody(tc.r, tc.contentLength, 1<<20)
		if err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: %d bytes, %v; want %d bytes", tc.name, len(got), err, len(body))
		}
	}
	w := httptest.NewRecorder()
	_, err := readBody(http.MaxBytesReader(w, io.NopCloser(bytes.NewReader(body)), 100), int64(len(body)), 100)
	if tooBig := new(http.MaxBytesError); !errors.As(err, &tooBig) {
		t.Errorf("over the limit: %v, want a MaxBytesError", err)
	}
	if _, err := readBody(iotest.ErrReader(io.ErrUnexpectedEOF), 10, 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a broken body: %v", err)
	}
}
