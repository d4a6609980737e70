package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/warroom/warroom/incident"
)

// postmortemCommand prints the draft of an incident's postmortem as a
// running server renders it (GET /api/v1/incidents/{id}/postmortem), to
// redirect into a file or a pager.
func postmortemCommand(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("postmortem")
	server := fs.String("server", "", "warroom's `URL` (default $WARROOM_SERVER, else http://127.0.0.1:9095)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("%w: postmortem takes one incident ID", errUsage)
	}
	id, err := incident.ParseID(rest[0])
	if err != nil {
		return err
	}
	var md string
	if err := newClient(*server).do(ctx, http.MethodGet, "/api/v1/incidents/"+id+"/postmortem", nil, &md); err != nil {
		return err
	}
	_, err = io.WriteString(c.stdout, md)
	return err
}
