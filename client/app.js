// Entry point: theme and language first, then the welcome screen, a signed-in
// session, the page of a password-reset link or that of an invite link. A
// language switch rebuilds the screen from the same state.

import { onLangChange, lang, t } from './i18n.js';
import { applyTheme } from './theme.js';
import { anonymousApi, createSession, savedToken, saveToken } from './session.js';
import { renderAuth } from './views/auth.js';
import { renderReset, resetToken } from './views/reset.js';
import { inviteCode, renderInvitePage } from './views/invite-page.js';
import { mountShell } from './views/shell.js';
import { notificationParts } from './views/inbox.js';
import { displayName, roomTitle } from './selectors.js';
import { notificationSound } from './sound.js';
import { messagePreview } from './uploads.js';
import { registerServiceWorker } from './pwa.js';

const root = document.getElementById('app');
root.classList.remove('boot'); // the splash layout only lasts until the first screen
let session = null;
let shell = null;
let resetting = null; // the token of the reset link on screen, if any
let inviting = null; // the code of the invite link on screen, if any
const LAST_ROOM_KEY = 'chat.lastRoom'; // the room the shell opens first

applyTheme();
registerServiceWorker(); // the shell for offline starts (sw.js)
document.documentElement.lang = lang();
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme());

function showReset(token) {
  resetting = token;
  document.title = t('reset.title');
  renderReset(root, {
    api: anonymousApi(),
    token,
    onDone: () => {
      resetting = null;
      history.replaceState(null, '', '/');
      const saved = savedToken();
      if (saved) startSession(saved); // refused at once if the reset revoked it
      else showAuth();
    },
  });
}

function showInvite(code) {
  inviting = code;
  document.title = `${t('invite.title')} — ${t('app.name')}`;
  const leave = () => {
    inviting = null;
    history.replaceState(null, '', '/');
  };
  renderInvitePage(root, {
    code,
    token: savedToken(),
    onJoined: ({ token, room }) => {
      leave();
      saveToken(token);
      try { localStorage.setItem(LAST_ROOM_KEY, String(room.id)); } catch { /* opens another room */ }
      startSession(token);
    },
    onLeave: () => {
      leave();
      const saved = savedToken();
      if (saved) startSession(saved);
      else showAuth();
    },
  });
}

function showAuth() {
  if (shell) { shell.destroy(); shell = null; }
  session = null;
  document.title = t('app.name');
  renderAuth(root, {
    api: anonymousApi(),
    onSignedIn: ({ token }) => {
      saveToken(token);
      startSession(token);
    },
  });
}

/** A system notification when the page is not what the user is looking at. */
function browserNotify(n) {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted' || !session) return;
  const s = session.store.get();
  const { msg, messageId, roomId, author, room } = notificationParts(n, s);
  if (!document.hidden && s.activeRoom === roomId) return;
  const title = author ? `${displayName(author)} — ${t(`reason.${n.reason}`)}` : t(`reason.${n.reason}`);
  try {
    const shown = new Notification(title, {
      body: `${room ? roomTitle(room, s) : ''}${msg && !msg.deleted && (msg.body || (msg.attachments || []).length) ? `\n${messagePreview(msg, 160)}` : ''}`,
      tag: `chat-${n.id}`,
      icon: '/favicon.svg',
    });
    shown.onclick = () => {
      window.focus();
      if (shell) shell.jump(roomId, messageId);
      shown.close();
    };
  } catch { /* some platforms only allow notifications from a service worker */ }
}

function startSession(token) {
  session = createSession({ token, onSignedOut: showAuth });
  session.hooks.notification.add(browserNotify);
  session.hooks.notification.add(notificationSound((n) => {
    const s = session.store.get();
    return !document.hidden && document.hasFocus() && s.activeRoom === notificationParts(n, s).roomId;
  }));
  shell = mountShell(root, session);
  session.start();
}

onLangChange(() => {
  if (resetting) { showReset(resetting); return; }
  if (inviting) { showInvite(inviting); return; }
  if (!session) { showAuth(); return; }
  if (shell) shell.destroy();
  shell = mountShell(root, session);
});

const token = savedToken();
const linkToken = resetToken(window.location.pathname);
const linkCode = inviteCode(window.location.pathname);
if (linkToken) showReset(linkToken);
else if (linkCode) showInvite(linkCode);
else if (token) startSession(token);
else showAuth();
