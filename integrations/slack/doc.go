// Package slack is warroom's typed client for the Slack Web API, on
// github.com/slack-go/slack: the calls a war room needs, each safe to
// repeat, with Slack's answers mapped to what a job should do next (done,
// retry, snooze for Retry-After, or give up). It holds no domain logic.
package slack

import _ "github.com/slack-go/slack" // the client these calls are made with
