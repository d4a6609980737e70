package slack_test

import (
	"context"
	"testing"

	islack "github.com/warroom/warroom/integrations/slack"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// UploadFile shares the file in three calls; FindFile finds it by its
// name among the bot's messages, and nothing else.
func TestUploadAndFindFile(t *testing.T) {
	t.Parallel()
	fake := slacktest.New()
	t.Cleanup(fake.Close)
	ch := fake.AddChannel("inc-1", false, false)
	c := islack.New(slacktest.BotToken, fake.URL(), nil)
	ctx := context.Background()

	if _, found, err := c.FindFile(ctx, ch, "INC-1-postmortem-9.md"); err != nil || found {
		t.Fatalf("FindFile before the upload: %v, %v", found, err)
	}
	fake.AddMessage(ch, "U0ALICE01", "INC-1-postmortem-9.md") // a person's message naming it is not the file
	id, err := c.UploadFile(ctx, islack.Upload{Channel: ch, Filename: "INC-1-postmortem-9.md", Title: "Postmortem draft: INC-1",
		Comment: "draft", Content: []byte("# Postmortem\n")})
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := c.FindFile(ctx, ch, "INC-1-postmortem-9.md")
	if err != nil || !found || got != id {
		t.Fatalf("FindFile = %q, %v, %v; want %q", got, found, err, id)
	}
	if _, found, _ := c.FindFile(ctx, ch, "INC-1-postmortem-10.md"); found {
		t.Error("FindFile found another resolve's file")
	}
	if f := fake.Files(); len(f) != 1 || string(f[0].Content) != "# Postmortem\n" || f[0].Channels[0] != ch {
		t.Errorf("files %+v", f)
	}

	// A channel the bot is not in: not_in_channel, a failure for good.
	other := fake.AddChannel("elsewhere", false, false)
	fake.SetMembers(other, "U0ALICE01")
	_, err = c.UploadFile(ctx, islack.Upload{Channel: other, Filename: "x.md", Content: []byte("x")})
	if islack.ErrorCode(err) != "not_in_channel" || !islack.Permanent(err) {
		t.Errorf("upload into a channel the bot is not in: %v (permanent %v)", err, islack.Permanent(err))
	}
}
