package slackmsg

import (
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render"
)

// ValidateBlocks checks blocks against the Block Kit limits that Slack
// enforces with invalid_blocks, for the block types warroom renders
// (header, section, context, actions with buttons, divider); any other
// type is an error. It returns the first violation.
func ValidateBlocks(blocks []slack.Block) error {
	if len(blocks) > maxBlocks {
		return fmt.Errorf("%d blocks, at most %d", len(blocks), maxBlocks)
	}
	ids := map[string]int{}
	for i, b := range blocks {
		if b == nil {
			return fmt.Errorf("block %d is nil", i)
		}
		if id := b.ID(); id != "" {
			if render.TextLen(id) > maxBlockID {
				return fmt.Errorf("block %d: block_id is %d characters, at most %d", i, render.TextLen(id), maxBlockID)
			}
			if j, dup := ids[id]; dup {
				return fmt.Errorf("block %d: block_id %q already used by block %d", i, id, j)
			}
			ids[id] = i
		}
		if err := validateBlock(b); err != nil {
			return fmt.Errorf("block %d (%s): %w", i, b.BlockType(), err)
		}
	}
	return nil
}

func validateBlock(b slack.Block) error {
	switch b := b.(type) {
	case *slack.HeaderBlock:
		if err := checkText(b.Text, "text", maxHeaderText); err != nil {
			return err
		}
		if b.Text.Type != slack.PlainTextType {
			return errors.New("text must be plain_text")
		}
	case *slack.SectionBlock:
		if b.Text == nil && len(b.Fields) == 0 {
			return errors.New("neither text nor fields")
		}
		if b.Text != nil {
			if err := checkText(b.Text, "text", maxSectionText); err != nil {
				return err
			}
		}
		if len(b.Fields) > maxSectionFields {
			return fmt.Errorf("%d fields, at most %d", len(b.Fields), maxSectionFields)
		}
		for i, f := range b.Fields {
			if err := checkText(f, fmt.Sprintf("field %d", i), maxFieldText); err != nil {
				return err
			}
		}
		if b.Accessory != nil {
			return errors.New("accessory not supported")
		}
	case *slack.ContextBlock:
		els := b.ContextElements.Elements
		if len(els) == 0 || len(els) > maxContextElements {
			return fmt.Errorf("%d elements, want 1 to %d", len(els), maxContextElements)
		}
		for i, e := range els {
			t, ok := e.(*slack.TextBlockObject)
			if !ok {
				return fmt.Errorf("element %d: %T not supported", i, e)
			}
			if err := checkText(t, fmt.Sprintf("element %d", i), maxContextText); err != nil {
				return err
			}
		}
	case *slack.ActionBlock:
		if b.Elements == nil || len(b.Elements.ElementSet) == 0 || len(b.Elements.ElementSet) > maxActionElements {
			n := 0
			if b.Elements != nil {
				n = len(b.Elements.ElementSet)
			}
			return fmt.Errorf("%d elements, want 1 to %d", n, maxActionElements)
		}
		for i, e := range b.Elements.ElementSet {
			btn, ok := e.(*slack.ButtonBlockElement)
			if !ok {
				return fmt.Errorf("element %d: %T not supported", i, e)
			}
			if err := checkButton(btn); err != nil {
				return fmt.Errorf("button %d: %w", i, err)
			}
		}
	case *slack.DividerBlock:
	default:
		return fmt.Errorf("block type %T not supported", b)
	}
	return nil
}

func checkButton(b *slack.ButtonBlockElement) error {
	if err := checkText(b.Text, "text", maxButtonText); err != nil {
		return err
	}
	if b.Text.Type != slack.PlainTextType {
		return errors.New("text must be plain_text")
	}
	if n := render.TextLen(b.ActionID); n > maxActionID {
		return fmt.Errorf("action_id is %d characters, at most %d", n, maxActionID)
	}
	if n := render.TextLen(b.Value); n > maxButtonValue {
		return fmt.Errorf("value is %d characters, at most %d", n, maxButtonValue)
	}
	if n := render.TextLen(b.URL); n > maxURL {
		return fmt.Errorf("url is %d characters, at most %d", n, maxURL)
	}
	if c := b.Confirm; c != nil {
		for _, p := range []struct {
			name string
			t    *slack.TextBlockObject
			max  int
		}{{"confirm title", c.Title, maxConfirmTitle}, {"confirm text", c.Text, maxConfirmText}, {"confirm button", c.Confirm, maxConfirmButton}} {
			if err := checkText(p.t, p.name, p.max); err != nil {
				return err
			}
		}
		if c.Deny != nil {
			if err := checkText(c.Deny, "deny button", maxConfirmButton); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkText checks a text object: a known type, not empty, at most limit
// characters.
func checkText(t *slack.TextBlockObject, name string, limit int) error {
	if t == nil {
		return fmt.Errorf("%s missing", name)
	}
	if t.Type != slack.PlainTextType && t.Type != slack.MarkdownType {
		return fmt.Errorf("%s: type %q, want plain_text or mrkdwn", name, t.Type)
	}
	n := render.TextLen(t.Text)
	if n == 0 {
		return fmt.Errorf("%s is empty", name)
	}
	if n > limit {
		return fmt.Errorf("%s is %d characters, at most %d", name, n, limit)
	}
	return nil
}
