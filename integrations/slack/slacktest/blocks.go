package slacktest

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Block Kit limits for messages, from https://docs.slack.dev/reference/block-kit/
// (blocks/*, block-elements/button-element,
// composition-objects/text-object and confirmation-dialog-object).
const (
	maxBlocks          = 50   // "up to 50 blocks in each message"
	maxBlockID         = 255  // block_id
	maxTextObject      = 3000 // any text object, and a section's text
	maxSectionFields   = 10   // section fields: "Maximum number of items is 10"
	maxFieldText       = 2000 // "Maximum length for the text in each item is 2000"
	maxHeaderText      = 150  // header text, plain_text only
	maxButtonText      = 75   // button text, plain_text only
	maxButtonValue     = 2000 // button value
	maxActionID        = 255  // action_id
	maxURL             = 3000 // button url, image_url
	maxActionsElements = 25   // "a maximum of 25 elements in each action block"
	maxContextElements = 10   // context elements: "Maximum number of items is 10"
	maxAltText         = 2000 // image alt_text
	maxImageTitle      = 2000 // image block title
	maxConfirmTitle    = 100  // confirm title
	maxConfirmText     = 300  // confirm text
	maxConfirmButton   = 30   // confirm and deny
)

// checkBlocks checks a message's blocks against the Block Kit rules above and
// returns the problems in the form Slack's invalid_blocks answer uses, such
// as "must be less than 3001 characters [json-pointer:/blocks/0/text/text]".
// It knows the block types header, section, divider, context, actions, image
// and rich_text (whose inside it leaves alone); any other type is refused,
// stricter than Slack, so that warroom only sends blocks this fake has checked.
func checkBlocks(blocks []any) []string {
	c := blockChecker{actionIDs: make(map[string]bool)}
	if len(blocks) > maxBlocks {
		c.tooMany("/blocks", maxBlocks)
	}
	for i, b := range blocks {
		c.block("/blocks/"+strconv.Itoa(i), b)
	}
	return c.problems
}

type blockChecker struct {
	problems  []string
	actionIDs map[string]bool // action_ids seen so far in the message
}

func (c *blockChecker) addf(pointer, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...)+" [json-pointer:"+pointer+"]")
}

func (c *blockChecker) tooLong(pointer string, limit int) {
	c.addf(pointer, "must be less than %d characters", limit+1)
}

func (c *blockChecker) tooMany(pointer string, limit int) {
	c.addf(pointer, "must be less than %d items", limit+1)
}

func (c *blockChecker) block(pointer string, v any) {
	b, isObject := v.(map[string]any)
	if !isObject {
		c.addf(pointer, "must be an object")
		return
	}
	if id, given := b["block_id"]; given {
		c.maxString(pointer+"/block_id", id, maxBlockID)
	}
	typ, _ := b["type"].(string)
	switch typ {
	case "section":
		c.section(pointer, b)
	case "header":
		c.text(pointer+"/text", b["text"], maxHeaderText, true)
	case "divider":
	case "context":
		elements := c.list(pointer+"/elements", b["elements"], maxContextElements)
		for i, e := range elements {
			at := pointer + "/elements/" + strconv.Itoa(i)
			if obj, _ := e.(map[string]any); obj != nil && obj["type"] == "image" {
				c.imageElement(at, obj)
			} else {
				c.text(at, e, maxTextObject, false)
			}
		}
	case "actions":
		elements := c.list(pointer+"/elements", b["elements"], maxActionsElements)
		for i, e := range elements {
			c.element(pointer+"/elements/"+strconv.Itoa(i), e)
		}
	case "image":
		c.imageBlock(pointer, b)
	case "rich_text":
		if _, isList := b["elements"].([]any); !isList {
			c.addf(pointer+"/elements", "is required and must be an array")
		}
	case "":
		c.addf(pointer+"/type", "is required")
	default:
		c.addf(pointer+"/type", "unsupported type: %s", typ)
	}
}

func (c *blockChecker) section(pointer string, b map[string]any) {
	text, hasText := b["text"]
	fields, hasFields := b["fields"]
	if (!hasText || text == nil) && (!hasFields || fields == nil) {
		c.addf(pointer, "must provide text or fields")
	}
	if hasText && text != nil {
		c.text(pointer+"/text", text, maxTextObject, false)
	}
	if hasFields && fields != nil {
		for i, f := range c.list(pointer+"/fields", fields, maxSectionFields) {
			c.text(pointer+"/fields/"+strconv.Itoa(i), f, maxFieldText, false)
		}
	}
	if accessory, given := b["accessory"]; given {
		c.element(pointer+"/accessory", accessory)
	}
}

// list checks that v is a non-empty array of at most limit items and returns it.
func (c *blockChecker) list(pointer string, v any, limit int) []any {
	items, isList := v.([]any)
	switch {
	case !isList:
		c.addf(pointer, "is required and must be an array")
	case len(items) == 0:
		c.addf(pointer, "must have at least 1 item")
	case len(items) > limit:
		c.tooMany(pointer, limit)
	}
	return items
}

// text checks a text object: {"type": "plain_text"|"mrkdwn", "text": "..."}
// with 1 to limit characters, plain_text only when plainOnly.
func (c *blockChecker) text(pointer string, v any, limit int, plainOnly bool) {
	t, isObject := v.(map[string]any)
	if !isObject {
		c.addf(pointer, "is required and must be a text object")
		return
	}
	switch typ, _ := t["type"].(string); {
	case plainOnly && typ != "plain_text":
		c.addf(pointer+"/type", "must be plain_text")
	case typ != "plain_text" && typ != "mrkdwn":
		c.addf(pointer+"/type", "must be one of plain_text, mrkdwn")
	}
	s, isString := t["text"].(string)
	switch n := utf8.RuneCountInString(s); {
	case !isString || n == 0:
		c.addf(pointer+"/text", "must be more than 0 characters")
	case n > limit:
		c.tooLong(pointer+"/text", limit)
	}
}

// element checks an interactive element of an actions block or a section
// accessory. Buttons and images are checked in full; other elements only for
// their action_id and confirm.
func (c *blockChecker) element(pointer string, v any) {
	e, isObject := v.(map[string]any)
	if !isObject {
		c.addf(pointer, "must be an object")
		return
	}
	typ, _ := e["type"].(string)
	switch typ {
	case "":
		c.addf(pointer+"/type", "is required")
		return
	case "button":
		c.text(pointer+"/text", e["text"], maxButtonText, true)
		if u, given := e["url"]; given {
			c.maxString(pointer+"/url", u, maxURL)
		}
		if value, given := e["value"]; given {
			c.maxString(pointer+"/value", value, maxButtonValue)
		}
		if style, given := e["style"]; given && style != "primary" && style != "danger" {
			c.addf(pointer+"/style", "must be one of primary, danger")
		}
	case "image":
		c.imageElement(pointer, e)
		return
	}
	c.actionID(pointer, e)
	if confirm, given := e["confirm"]; given {
		c.confirm(pointer+"/confirm", confirm)
	}
}

// actionID checks an element's action_id: at most 255 characters, and not
// used by another element of the same message.
func (c *blockChecker) actionID(pointer string, e map[string]any) {
	v, given := e["action_id"]
	if !given {
		return
	}
	id, _ := v.(string)
	c.maxString(pointer+"/action_id", v, maxActionID)
	if c.actionIDs[id] {
		c.addf(pointer+"/action_id", "must be unique within the message: %q is used twice", id)
	}
	c.actionIDs[id] = true
}

// confirm checks a confirmation dialog object: title, text, confirm and deny
// are all required, each a text object within its limit.
func (c *blockChecker) confirm(pointer string, v any) {
	d, isObject := v.(map[string]any)
	if !isObject {
		c.addf(pointer, "must be an object")
		return
	}
	c.text(pointer+"/title", d["title"], maxConfirmTitle, true)
	c.text(pointer+"/text", d["text"], maxConfirmText, false)
	c.text(pointer+"/confirm", d["confirm"], maxConfirmButton, true)
	c.text(pointer+"/deny", d["deny"], maxConfirmButton, true)
}

func (c *blockChecker) imageBlock(pointer string, b map[string]any) {
	c.imageElement(pointer, b)
	if title, given := b["title"]; given && title != nil {
		c.text(pointer+"/title", title, maxImageTitle, true)
	}
}

// imageElement checks what image blocks and image elements share: an
// image_url (or a slack_file) and an alt_text.
func (c *blockChecker) imageElement(pointer string, e map[string]any) {
	if u, given := e["image_url"]; given {
		c.required(pointer+"/image_url", u, maxURL)
	} else if _, given := e["slack_file"]; !given {
		c.addf(pointer, "must provide image_url or slack_file")
	}
	c.required(pointer+"/alt_text", e["alt_text"], maxAltText)
}

// required checks a string field that must have 1 to limit characters.
func (c *blockChecker) required(pointer string, v any, limit int) {
	s, _ := v.(string)
	if s == "" {
		c.addf(pointer, "must be more than 0 characters")
		return
	}
	c.maxString(pointer, v, limit)
}

// maxString checks an optional string field of at most limit characters.
func (c *blockChecker) maxString(pointer string, v any, limit int) {
	s, isString := v.(string)
	switch {
	case !isString:
		c.addf(pointer, "must be a string")
	case utf8.RuneCountInString(s) > limit:
		c.tooLong(pointer, limit)
	}
}
