// The notification sound: a short two-note chime made with WebAudio (no file to
// download), off until the person turns it on in the settings. Browsers only
// let a page make sound after a gesture: turning it on is one, and plays the
// chime once so the person hears what they chose.

const KEY = 'chat.sound';
let ctx = null;

export function soundEnabled() {
  try { return localStorage.getItem(KEY) === 'on'; } catch { return false; }
}

export function setSoundEnabled(on) {
  try {
    if (on) localStorage.setItem(KEY, 'on');
    else localStorage.removeItem(KEY);
  } catch { /* not remembered: stays as it was */ }
  if (on) chime();
}

function audio() {
  const Ctor = typeof window !== 'undefined' && (window.AudioContext || window.webkitAudioContext);
  if (!Ctor) return null;
  if (!ctx) ctx = new Ctor();
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

/** Plays the chime (about a quarter of a second); false when audio is not available. */
export function chime() {
  const a = audio();
  if (!a) return false;
  const start = a.currentTime + 0.01;
  const gain = a.createGain();
  gain.connect(a.destination);
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.18, start + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.32);
  for (const [freq, at] of [[880, 0], [1318.5, 0.09]]) {
    const osc = a.createOscillator();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(freq, start + at);
    osc.connect(gain);
    osc.start(start + at);
    osc.stop(start + 0.34);
  }
  return true;
}

/**
 * For each notification pushed to this page: a chime when the sound is on and
 * the person is not already looking at what it is about.
 * @param isWatching (notification) → whether its room is on screen, in a focused tab
 */
export function notificationSound(isWatching) {
  return (n) => {
    if (soundEnabled() && !isWatching(n)) chime();
  };
}
