// Generated from chatserver/protocol/events.py by
// `python -m chatserver.protocol.catalog`: do not edit by hand.

/** Event types that take a room seq (and so reveal gaps). */
export const SEQUENCED_TYPES = Object.freeze(["member.joined", "member.left", "message.created", "message.updated", "reaction.added", "reaction.removed", "room.updated"]);

/** Every event type the server may push. */
export const EVENT_TYPES = Object.freeze(["friend.accepted", "friend.request", "member.joined", "member.left", "message.created", "message.updated", "notification", "presence", "reaction.added", "reaction.removed", "room.added", "room.muted", "room.removed", "room.synced", "room.updated", "typing", "user.updated"]);
