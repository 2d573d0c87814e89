// What a JavaScript user would pick: socket.io rooms on Node.
// Run: node benchmarks/node/sio_server.mjs --port 8203
// Same subset as the Python reference servers: connect with auth {rooms: [ids]}, a `send`
// event is acknowledged with `ok` and emitted as `event` (a message.created frame) to the room.
import { Server } from "socket.io";

const args = Object.fromEntries(
  process.argv.slice(2).map((a, i, all) => (a.startsWith("--") ? [a.slice(2), all[i + 1]] : null)).filter(Boolean),
);
const port = Number(args.port ?? 8203);
const io = new Server(port, { transports: ["websocket"], serveClient: false, maxHttpBufferSize: 65536 });

let lastId = 0;
const seqs = new Map();
const author = (id) => ({ id, username: `user${id}`, display_name: `user${id}`, role: "student", region: null });

io.on("connection", (socket) => {
  for (const room of socket.handshake.auth?.rooms ?? []) socket.join(String(room));
  socket.on("send", (data, ack) => {
    const room = Number(data.room);
    const seq = (seqs.get(room) ?? 0) + 1;
    seqs.set(room, seq);
    const message = {
      id: ++lastId, room, seq, author: author(0), body: String(data.body),
      created_at: new Date().toISOString(), edited_at: null, deleted: false, reply_to: null,
      reactions: [], mentions: [], nonce: null,
    };
    if (typeof ack === "function") ack({ op: "ok", ref: data.ref, message });
    io.to(String(room)).emit("event", { type: "message.created", room, seq, message, op: "event" });
  });
});
console.error(`socket.io rooms server on :${port}`);
