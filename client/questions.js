// Pure derivations for questions: the mentors' queue of a room (open
// questions by votes then age, or by age) and what a message's question badge
// says. The queue is what the server listed, overlaid with whatever the room's
// log holds now: `message.updated` carries the full message, so votes, claims
// and answers arrive there and the queue follows without another fetch.

/** When the room's workshop ends (ms), or 0 when none runs at `now`. */
export function workshopEnds(room, now) {
  const end = room && room.workshop ? Date.parse(room.workshop.ends_at) : 0;
  return Number.isFinite(end) && end > now ? end : 0;
}

/** Whether a message is a question (in any state). */
export function isQuestion(msg) {
  return !!(msg && msg.question && !msg.deleted);
}

/** The queue's messages for a room: listed ones and questions seen since, each at its latest. */
function knownQuestions(state, roomId) {
  const listed = (state.questions && state.questions[roomId]) || {};
  const log = state.messages[roomId];
  const byId = { ...listed };
  if (log) {
    for (const msg of Object.values(log.byId)) {
      if (msg.question || byId[msg.id]) byId[msg.id] = msg;
    }
  }
  return Object.values(byId);
}

/**
 * The room's open questions: by votes (most first) then oldest, or oldest
 * first. Ids grow with time, so they break ties the way the server does.
 */
export function questionQueue(state, roomId, sort = 'votes') {
  const open = knownQuestions(state, roomId).filter((m) => isQuestion(m) && m.question.state === 'open');
  return open.sort((a, b) => (sort === 'votes' ? b.question.votes - a.question.votes : 0) || a.id - b.id);
}
