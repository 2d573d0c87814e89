// The reconnect storm's peer: socket.io rooms on Node with connection state recovery on.
//
//   node benchmarks/node/storm_sio.mjs --port 8210 [--max-disconnection-ms 120000]
//
// socket.io ≥ 4.6 keeps, in the server's memory (the default in-memory adapter), every
// packet broadcast to a room, and the session (id, rooms, data) of every socket whose
// transport dropped; a client that comes back within `maxDisconnectionDuration` with its
// session id and the offset of the last packet it received gets `socket.recovered ===
// true` and the packets it missed, before its `connect` event. An explicit disconnect
// (`socket.disconnect()` on either side) is not recoverable; a transport drop is.
//
// Events (every one acknowledged; bad input gets {op: "error", code: "bad_request"}):
//   connect with auth {rooms: [ids]} → joins them; a `ready` event goes to the socket alone
//     through the adapter (so it is buffered too and gives the client an offset, as our
//     `ready` gives it each room's last_seq)
//   send {room, body}      → ack {op: "ok", message}; `event` message.created to the room
//   edit {id, body}        → ack {op: "ok"};          `event` message.updated (whole message)
//   react {id, emoji}      → ack {op: "ok"};          `event` reaction.added
//   stats                  → ack {sockets, sessions, packets, cpu_user_us, cpu_system_us,
//                                 rss_bytes, disconnects: {reason: count}}
// Prints `listening <port>` on stdout once it accepts connections; exits on SIGTERM.
import { createServer } from "node:http";
import { Server } from "socket.io";

const args = Object.fromEntries(
  process.argv.slice(2).map((a, i, all) => (a.startsWith("--") ? [a.slice(2), all[i + 1]] : null)).filter(Boolean),
);
const port = Number(args.port ?? 8210);
const maxDisconnectionDuration = Number(args["max-disconnection-ms"] ?? 120_000);
const MAX_ROOMS = 100;
const MAX_BODY = 4000;

const http = createServer((req, res) => {
  res.writeHead(404).end();
});
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  maxHttpBufferSize: 65536,
  connectionStateRecovery: { maxDisconnectionDuration, skipMiddlewares: true },
});

let lastId = 0;
const messages = new Map(); // id → message (the room's history, as a real server would keep it)
const seqs = new Map();
const disconnects = {};
const author = (id) => ({ id, username: `user${id}`, display_name: `user${id}`, role: "student", region: null });
const nextSeq = (room) => {
  const seq = (seqs.get(room) ?? 0) + 1;
  seqs.set(room, seq);
  return seq;
};
const roomId = (value) => (Number.isSafeInteger(value) && value > 0 ? value : null);
const bad = (ack) => typeof ack === "function" && ack({ op: "error", code: "bad_request" });

io.on("connection", (socket) => {
  const wanted = socket.handshake.auth?.rooms;
  const rooms = Array.isArray(wanted) ? wanted.slice(0, MAX_ROOMS).map(roomId).filter(Boolean) : [];
  if (!socket.recovered) for (const room of rooms) socket.join(String(room));
  io.to(socket.id).emit("ready", { op: "ready", rooms, recovered: socket.recovered });

  socket.on("disconnect", (reason) => {
    disconnects[reason] = (disconnects[reason] ?? 0) + 1;
  });

  socket.on("send", (data, ack) => {
    const room = roomId(data?.room);
    if (room === null || typeof data.body !== "string" || data.body.length > MAX_BODY) return bad(ack);
    const seq = nextSeq(room);
    const message = {
      id: ++lastId, room, seq, author: author(0), body: data.body,
      created_at: new Date().toISOString(), edited_at: null, deleted: false, reply_to: null,
      reactions: [], mentions: [], nonce: null,
    };
    messages.set(message.id, message);
    if (typeof ack === "function") ack({ op: "ok", message });
    io.to(String(room)).emit("event", { op: "event", type: "message.created", room, seq, message });
  });

  socket.on("edit", (data, ack) => {
    const message = messages.get(data?.id);
    if (!message || typeof data.body !== "string" || data.body.length > MAX_BODY) return bad(ack);
    message.body = data.body;
    message.edited_at = new Date().toISOString();
    const seq = nextSeq(message.room);
    if (typeof ack === "function") ack({ op: "ok" });
    io.to(String(message.room)).emit("event", { op: "event", type: "message.updated", room: message.room, seq, message });
  });

  socket.on("react", (data, ack) => {
    const message = messages.get(data?.id);
    if (!message || typeof data.emoji !== "string" || data.emoji.length > 32) return bad(ack);
    message.reactions.push({ emoji: data.emoji, user_id: 0 });
    const seq = nextSeq(message.room);
    if (typeof ack === "function") ack({ op: "ok" });
    io.to(String(message.room)).emit("event", {
      op: "event", type: "reaction.added", room: message.room, seq,
      message_id: message.id, emoji: data.emoji, user_id: 0,
    });
  });

  socket.on("stats", (_data, ack) => {
    if (typeof ack !== "function") return;
    const cpu = process.cpuUsage();
    const adapter = io.of("/").adapter;
    ack({
      sockets: io.of("/").sockets.size,
      sessions: adapter.sessions?.size ?? 0,
      packets: adapter.packets?.length ?? 0,
      cpu_user_us: cpu.user,
      cpu_system_us: cpu.system,
      rss_bytes: process.memoryUsage().rss,
      disconnects,
    });
  });
});

process.on("SIGTERM", () => process.exit(0));
http.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${port}\n`);
});
