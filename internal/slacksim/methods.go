package slacksim

import (
	"encoding/json"
	"fmt"
	"time"
)

// triggerTTL is how long a trigger_id can open a view; Slack's limit is 3 s.
const triggerTTL = 3 * time.Second

// botID is the bot's ID in message objects.
const botID = "B0SIM"

// trigger is a trigger_id handed out with an envelope.
type trigger struct {
	issued time.Time
	used   bool
	user   string // whose action issued it; views open for them
}

// issueTriggerLocked returns a new trigger_id that views.open accepts for
// triggerTTL; s.mu must be held.
func (s *Server) issueTriggerLocked() string {
	s.seq++
	id := fmt.Sprintf("%d.%d.%s", s.seq, time.Now().Unix(), randomHex(16))
	s.triggers[id] = &trigger{issued: time.Now()}
	return id
}

func (s *Server) appsConnectionsOpenLocked(*Call) (map[string]any, string) {
	ticket := randomHex(16)
	s.tickets[ticket] = true
	url := fmt.Sprintf("ws%s/link/?ticket=%s&app_id=%s", s.baseURL[len("http"):], ticket, s.opts.AppID)
	return map[string]any{"url": url}, ""
}

func (s *Server) authTestLocked(*Call) (map[string]any, string) {
	return map[string]any{
		"url":     "https://" + s.opts.TeamDomain + ".slack.com/",
		"team":    s.opts.TeamDomain,
		"user":    "cicf-bot",
		"team_id": s.opts.TeamID,
		"user_id": s.opts.BotUserID,
		"bot_id":  botID,
	}, ""
}

// messageLocked checks the fields every chat method needs and returns the
// message object Slack echoes back.
func (s *Server) messageLocked(c *Call, ts string) (map[string]any, string) {
	if c.Param("channel") == "" {
		return nil, "channel_not_found"
	}
	text, blocks, attachments := c.Param("text"), c.Param("blocks"), c.Param("attachments")
	if text == "" && blocks == "" && attachments == "" {
		return nil, "no_text"
	}
	msg := map[string]any{
		"type":    "message",
		"user":    s.opts.BotUserID,
		"bot_id":  botID,
		"text":    text,
		"ts":      ts,
		"team":    s.opts.TeamID,
		"app_id":  s.opts.AppID,
		"subtype": "bot_message",
	}
	if blocks != "" {
		var b []any
		if json.Unmarshal([]byte(blocks), &b) != nil {
			return nil, "invalid_blocks"
		}
		msg["blocks"] = b
	}
	return msg, ""
}

// Unreachable makes chat.postMessage to channel (a user or channel ID)
// answer {"ok":false,"error":code} from now on, as Slack does for a person
// the bot cannot message: "channel_not_found" for an ID that names no one
// the bot can see, "user_not_found", "cannot_dm_bot" (the ID is a bot) or
// "account_inactive". An empty code makes channel reachable again.
func (s *Server) Unreachable(channel, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.unreachable, channel)
		return
	}
	s.unreachable[channel] = code
}

func (s *Server) chatPostMessageLocked(c *Call) (map[string]any, string) {
	if code, ok := s.unreachable[c.Param("channel")]; ok {
		return nil, code
	}
	ts := s.nextTSLocked()
	msg, code := s.messageLocked(c, ts)
	if code != "" {
		return nil, code
	}
	channel := c.Param("channel")
	s.messages[channel+"/"+ts] = true
	s.recordMessageLocked(c, ts)
	return map[string]any{"channel": channel, "ts": ts, "message": msg}, ""
}

func (s *Server) chatPostEphemeralLocked(c *Call) (map[string]any, string) {
	if c.Param("user") == "" {
		return nil, "user_not_in_channel"
	}
	ts := s.nextTSLocked()
	if _, code := s.messageLocked(c, ts); code != "" {
		return nil, code
	}
	// Ephemeral messages are not stored: like on Slack, only their
	// response_url can change them, never chat.update.
	return map[string]any{"message_ts": ts}, ""
}

func (s *Server) chatUpdateLocked(c *Call) (map[string]any, string) {
	channel, ts := c.Param("channel"), c.Param("ts")
	if ts == "" || !s.messages[channel+"/"+ts] {
		return nil, "message_not_found"
	}
	msg, code := s.messageLocked(c, ts)
	if code != "" {
		return nil, code
	}
	return map[string]any{"channel": channel, "ts": ts, "text": msg["text"], "message": msg}, ""
}

func (s *Server) viewsOpenLocked(c *Call) (map[string]any, string) {
	id := c.Param("trigger_id")
	view := viewParam(c)
	if id == "" || view == nil {
		return nil, "invalid_arguments"
	}
	t, ok := s.triggers[id]
	switch {
	case !ok:
		return nil, "invalid_trigger_id"
	case t.used:
		return nil, "trigger_exchanged"
	case time.Since(t.issued) > triggerTTL:
		return nil, "expired_trigger_id"
	}
	t.used = true
	s.seq++
	view["id"] = fmt.Sprintf("V%06d", s.seq)
	view["team_id"] = s.opts.TeamID
	view["app_id"] = s.opts.AppID
	view["bot_id"] = botID
	view["hash"] = fmt.Sprintf("%d.%s", time.Now().Unix(), randomHex(4))
	view["state"] = map[string]any{"values": map[string]any{}}
	s.recordViewLocked(view, t)
	return map[string]any{"view": view}, ""
}

// viewParam returns the view object from a JSON body or a form field; nil
// if there is none.
func viewParam(c *Call) map[string]any {
	var raw []byte
	if v := c.Params.Get("view"); v != "" {
		raw = []byte(v)
	} else if len(c.JSON) > 0 {
		var body struct {
			View json.RawMessage `json:"view"`
		}
		if json.Unmarshal(c.JSON, &body) != nil {
			return nil
		}
		raw = body.View
	}
	var view map[string]any
	if json.Unmarshal(raw, &view) != nil {
		return nil
	}
	return view
}

func (s *Server) usersInfoLocked(c *Call) (map[string]any, string) {
	u, ok := s.users[c.Param("user")]
	if !ok {
		return nil, "user_not_found"
	}
	tz := u.TZ
	if tz == "" {
		tz = "UTC"
	}
	return map[string]any{"user": map[string]any{
		"id":        u.ID,
		"team_id":   s.opts.TeamID,
		"name":      u.Name,
		"real_name": u.RealName,
		"deleted":   false,
		"is_admin":  u.IsAdmin,
		"is_owner":  false,
		"is_bot":    false,
		"tz":        tz,
		"profile": map[string]any{
			"real_name":    u.RealName,
			"display_name": u.Name,
		},
	}}, ""
}
