package main

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// demoPostmortemLines is how much of the postmortem's draft the demo
// shows: the head, the facts and the times.
const demoPostmortemLines = 24

// showPostmortem waits until the postmortem's draft is in the war room
// and on the ticket, and prints its first lines as the API answers them.
func (d *demoRun) showPostmortem(id string) error {
	deadline := time.Now().Add(6 * time.Second)
	for {
		v, err := d.incident(id)
		if err != nil {
			return err
		}
		file, attached := "", false
		for _, f := range d.slack.Files() {
			for _, ch := range f.Channels {
				if ch == v.SlackChannelID {
					file = f.Name
				}
			}
		}
		if is, ok := d.jira.Issue(v.JiraKey); ok {
			for _, a := range is.Attachments {
				attached = attached || a.Filename == file
			}
		}
		if file != "" && attached {
			md, code, err := d.do(http.MethodGet, "/api/v1/incidents/"+id+"/postmortem", nil)
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("GET %s/postmortem: HTTP %d %s", id, code, md)
			}
			lines := strings.Split(strings.TrimRight(string(md), "\n"), "\n")
			more := len(lines) > demoPostmortemLines
			lines = lines[:min(len(lines), demoPostmortemLines)]
			fmt.Fprintf(d.out, "\nPostmortem draft: %s in the war room and on %s (`warroom postmortem %s` prints it all):\n", file, v.JiraKey, id)
			fmt.Fprintln(d.out, indent(strings.Join(lines, "\n"), "  │ "))
			if more {
				fmt.Fprintln(d.out, "  │ …")
			}
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the postmortem's draft was not in the war room and on the ticket within 6s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pageLink finds the incident page's signed link in the war room's summary.
var pageLink = regexp.MustCompile(`https?://[^|<> "]+/incidents/INC-[0-9]+\?[^|<> "]+`)

// showPage prints the address of the incident's read-only page, as the
// war room's summary links it, once the page answers it.
func (d *demoRun) showPage(id string) error {
	v, err := d.incident(id)
	if err != nil {
		return err
	}
	var link string
	for _, m := range d.slack.Messages(v.SlackChannelID) {
		if m.Metadata != nil && m.Metadata.EventType == "warroom_summary" {
			link = pageLink.FindString(strings.ReplaceAll(string(m.Blocks), `\u0026`, "&"))
		}
	}
	if link == "" {
		return fmt.Errorf("the summary of %s links no incident page", id)
	}
	resp, err := d.http.Get(link)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the incident page %s: HTTP %d", link, resp.StatusCode)
	}
	fmt.Fprintf(d.out, "\nIncident page (read-only, signed, linked from the war room and the ticket; `warroom demo --keep` keeps it up):\n  %s\n", link)
	return nil
}
