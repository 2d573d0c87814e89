// The signed-in screen: sidebar (a drawer on phones), the room header with
// the bell, the message list and the composer. Wires views to actions and
// opens the dialogs and popovers, moderation and staff panels included.

import { h, icon, iconButton, replaceChildren } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { createActions } from '../actions.js';
import { roomTitle, dmPeer, totalUnread } from '../selectors.js';
import { moderates } from '../moderation.js';
import { createSidebar } from './sidebar.js';
import { createMessageList } from './messages.js';
import { createComposer } from './composer.js';
import { openEmojiPicker } from './emoji-picker.js';
import { openDirectory, openCreateRoom } from './directory.js';
import { openFriends, openNewDm } from './friends.js';
import { openInbox } from './inbox.js';
import { openSettings } from './settings.js';
import { openRoomInfo } from './room-info.js';
import { openRoomSettings } from './room-settings.js';
import { openMembers } from './members.js';
import { openAudit } from './audit.js';
import { openReports } from './reports.js';
import { openAdmin } from './admin.js';
import { openReport } from './report.js';
import { openInvitesPanel } from './invites.js';
import { createQuestionQueue, showsQueue } from './questions.js';
import { createWorkshopClock } from './workshop.js';
import { toast } from './ui.js';
import { installDropZone, setTokenSource } from './attachments.js';
import { createGuestBanner, openUpgrade } from './upgrade.js';
import { openSearch, isSearchShortcut } from './search.js';
import { mountEvents } from './events.js';
import { installProfileCards } from './profile-card.js';
import { installAvatars } from '../avatars.js';
import { openSwitcher } from './switcher.js';
import { installShortcuts } from './shortcuts.js';

const LAST_ROOM_KEY = 'chat.lastRoom';
const PHONE = window.matchMedia('(max-width: 700px)');

export function mountShell(root, session) {
  const { store, api } = session;
  const actions = createActions(session);

  const openRoom = (id, { focus = true } = {}) => {
    actions.openRoom(id);
    try { localStorage.setItem(LAST_ROOM_KEY, String(id)); } catch { /* not fatal */ }
    setDrawer(false);
    // Typing is what people do next in a room, except after a jump to a message.
    if (focus && !PHONE.matches) requestAnimationFrame(() => composer.focus());
  };

  const ui = {
    api,
    pickReaction: (msg, anchor) => openEmojiPicker(anchor, {
      api, title: t('reactions.pick'),
      onPick: (emoji) => actions.toggleReaction(msg.room, msg.id, emoji).catch((e) => toast(errorText(e), 'error')),
    }),
    pickEmoji: (anchor, insert) => openEmojiPicker(anchor, { api, onPick: insert }),
    reply: (msg) => composer.setReply(msg),
    editMessage: (msg) => messages.startEdit(msg),
    focusComposer: () => composer.focus(),
    scrollToBottom: () => messages.scrollToBottom(),
    report: (msg) => openReport({ actions, msg, users: store.get().users }),
  };

  // ---- moderation and staff panels
  const roomName = (id) => { const st = store.get(); return st.rooms[id] ? roomTitle(st.rooms[id], st) : ''; };
  const openAuditFor = (id) => openAudit({ api, store, roomId: id, title: t('audit.titleOf', { name: roomName(id) }) });
  const openInvitesFor = (id) => openInvitesPanel({ api, store, roomId: id });
  const openMembersFor = (id) => openMembers({ store, api, actions, roomId: id, onInvites: () => openInvitesFor(id) });
  const openSettingsFor = (id) => openRoomSettings({
    store, actions, roomId: id,
    onMembers: () => openMembersFor(id), onInvites: () => openInvitesFor(id), onAudit: () => openAuditFor(id),
  });
  const openReportsView = () => openReports({ api, store, hooks: session.hooks, onJump: (roomId, messageId) => jump(roomId, messageId) });
  const openAdminPage = () => openAdmin({ api, store, actions, onOpenRoom: (id) => openRoom(id), onAudit: (room) => openAuditFor(room.id) });
  const createRoom = () => openCreateRoom({ actions, onOpen: openRoom, me: store.get().me });
  const openMySettings = () => openSettings({ store, api, actions, signOut: session.signOut, onUpgrade: () => openUpgrade({ api, store }) });
  // Pictures come with the token; any name or avatar marked data-profile opens a card.
  const uninstallAvatars = installAvatars(() => session.token);
  const uninstallCards = installProfileCards({ store, api, actions, onOpenRoom: (id) => openRoom(id), onEditProfile: openMySettings });

  // On phones a dialog opened from the drawer replaces it rather than stacking on it.
  const fromDrawer = (fn) => (...args) => { setDrawer(false); return fn(...args); };
  const sidebar = createSidebar(store, {
    onOpen: openRoom,
    onDirectory: fromDrawer(() => openDirectory({ api, actions, isJoined: (id) => id in store.get().rooms, onOpen: openRoom, onCreate: createRoom })),
    onCreateRoom: fromDrawer(createRoom),
    onReports: fromDrawer(openReportsView),
    onAdmin: fromDrawer(openAdminPage),
    onNewDm: fromDrawer(() => openNewDm({ actions, store })),
    onFriends: fromDrawer(() => openFriends({ store, api, actions, onOpenRoom: () => {} })),
    onSettings: fromDrawer(openMySettings),
    onLogout: () => session.logout(),
    onClose: () => setDrawer(false),
  });
  const messages = createMessageList(store, actions, ui);
  const composer = createComposer(store, actions, ui);
  const events = mountEvents({ session, store, actions, sidebar, jump, fromDrawer });

  // ---- header
  const title = h('h1', { class: 'room-title' });
  const subtitle = h('p', { class: 'room-sub' });
  const menuBtn = iconButton('menu', t('sidebar.open'), () => setDrawer(true), 'menu-btn');
  menuBtn.setAttribute('aria-controls', 'sidebar');
  const menuBadge = h('span', { class: 'badge badge-dot', attrs: { hidden: true, 'aria-hidden': 'true' } });
  menuBtn.appendChild(menuBadge);
  const bellBadge = h('span', { class: 'badge', attrs: { hidden: true, 'aria-hidden': 'true' } });
  const bell = iconButton('bell', t('inbox.title'), () => openInbox(bell, {
    store, actions, onJump: (roomId, messageId) => jump(roomId, messageId), onReports: openReportsView,
  }), 'bell with-badge');
  bell.appendChild(bellBadge);
  const infoBtn = iconButton('info', t('room.info'), () => {
    const id = store.get().activeRoom;
    if (id != null) {
      openRoomInfo({
        store, api, actions, roomId: id, onLeft: () => pickDefaultRoom(true),
        onSettings: () => openSettingsFor(id), onMembers: () => openMembersFor(id),
        onInvites: () => openInvitesFor(id), onAudit: () => openAuditFor(id),
      });
    }
  }, 'info-btn');
  const modBtn = iconButton('shield', t('roomSettings.open'), () => {
    const id = store.get().activeRoom;
    if (id != null) openSettingsFor(id);
  }, 'mod-btn');
  // The mentors' queue: a column beside the chat, a panel over it on phones.
  let queueOpen = false;
  const queue = createQuestionQueue(store, actions, {
    onJump: (roomId, messageId) => { if (PHONE.matches) setQueue(false); jump(roomId, messageId); },
    onClose: () => { setQueue(false); queueBtn.focus(); },
  });
  const queueBtn = iconButton('list', t('questions.queueOpen'), () => setQueue(!queueOpen), 'queue-btn');
  function setQueue(open) {
    queueOpen = open;
    queueBtn.setAttribute('aria-expanded', String(open));
    queue.show(open ? store.get().activeRoom : null);
    queue.render(store.get());
  }
  const workshopClock = createWorkshopClock(store);
  // Message search: the header's button, Ctrl+/ anywhere, / outside text fields.
  const searchBtn = iconButton('search', t('search.open'), () => showSearch(), 'search-btn');
  const showSearch = () => {
    if (document.querySelector('dialog.search-dialog')) return;
    openSearch({ api, store, actions, onJump: (roomId, messageId) => jump(roomId, messageId) });
  };
  const onSearchKey = (e) => {
    if (!isSearchShortcut(e) || document.querySelector('dialog[open]:not(.search-dialog)')) return;
    e.preventDefault();
    const open = document.querySelector('dialog.search-dialog .search-input');
    if (open) open.focus(); else showSearch();
  };
  document.addEventListener('keydown', onSearchKey);
  const header = h('header', { class: 'chat-head' },
    menuBtn,
    h('div', { class: 'room-heading' }, title, subtitle, workshopClock.el),
    h('div', { class: 'head-actions' }, searchBtn, events.headerButton, queueBtn, modBtn, infoBtn, bell));
  const banner = h('div', { class: 'conn-banner', attrs: { role: 'status', hidden: true } });
  const upgrade = () => openUpgrade({ api, store });
  const guestBanner = createGuestBanner(store, upgrade);

  const empty = h('div', { class: 'empty-state' },
    h('div', { class: 'big-emoji', attrs: { 'aria-hidden': 'true' } }, '👋'),
    h('h2', {}, t('empty.title')),
    h('p', {}, t('empty.lead')),
    h('button', { class: 'btn btn-primary', attrs: { type: 'button' }, on: { click: () => sidebar.el.querySelector('.sidebar-actions button').click() } }, icon('compass'), t('directory.open')));

  const chat = h('main', { class: 'chat', attrs: { 'aria-label': t('chat.label') } }, header, banner, guestBanner.el, empty, messages.el, composer.el);
  // Files are fetched with the session's token; files dropped on the chat go to the composer.
  setTokenSource(() => session.token);
  installDropZone(chat, (files) => composer.addFiles(files));
  const backdrop = h('div', { class: 'drawer-backdrop', on: { click: () => setDrawer(false) } });
  const app = h('div', { class: 'app' }, sidebar.el, backdrop, chat, queue.el);
  root.replaceChildren(app);

  function setDrawer(open) {
    app.classList.toggle('drawer-open', open && PHONE.matches);
    menuBtn.setAttribute('aria-expanded', String(open && PHONE.matches));
    // On phones the closed drawer must not be reachable by Tab.
    sidebar.el.inert = PHONE.matches && !open;
    if (open && PHONE.matches) (sidebar.el.querySelector('.room-item.active') || sidebar.el.querySelector('.room-item, button')).focus();
  }
  PHONE.addEventListener('change', () => setDrawer(false));
  app.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && app.classList.contains('drawer-open')) { setDrawer(false); menuBtn.focus(); }
  });
  setDrawer(false);

  // Keyboard: Ctrl+K switcher, Alt+arrows between rooms, Esc closes the queue, `?` help.
  const stopShortcuts = installShortcuts({
    store,
    openRoom: (id) => openRoom(id),
    openSwitcher: () => openSwitcher({
      store,
      searchUsers: (q) => actions.searchUsers(q),
      onOpenRoom: (id) => openRoom(id),
      onOpenPerson: (user) => actions.openDm([user.username]).then((room) => openRoom(room.id)).catch((e) => toast(errorText(e), 'error')),
    }),
    closePanel: () => {
      if (!queueOpen) return false;
      setQueue(false);
      queueBtn.focus();
      return true;
    },
  });

  async function jump(roomId, messageId) {
    if (!(roomId in store.get().rooms)) { toast(t('message.notFound')); return; }
    if (store.get().activeRoom !== roomId) openRoom(roomId, { focus: false });
    if (messageId != null) await messages.jumpTo(messageId);
  }

  function pickDefaultRoom(force = false) {
    const s = store.get();
    if (!force && s.activeRoom != null && s.activeRoom in s.rooms) return;
    let saved = null;
    try { saved = Number(localStorage.getItem(LAST_ROOM_KEY)); } catch { /* ignore */ }
    const ids = Object.keys(s.rooms).map(Number);
    const id = !force && ids.includes(saved) ? saved : ids.sort((a, b) => a - b)[0];
    if (id != null) openRoom(id);
    else store.dispatch({ op: 'local.open', room: null });
  }

  // After (re)connecting: choose a room the first time, and refresh what the
  // open room shows if its history was dropped (reset, or never loaded).
  let firstReady = store.get().status !== 'online';
  if (!firstReady) pickDefaultRoom(); // remounted (language switch) in a live session
  const onReload = (roomId) => {
    const s = store.get();
    if (roomId == null && firstReady) {
      firstReady = false;
      pickDefaultRoom();
      actions.loadFriends().catch(() => {});
      return;
    }
    const active = s.activeRoom;
    if (active == null) return;
    if (roomId == null || roomId === active) {
      const log = s.messages[active];
      if (!log || !log.loaded) actions.loadLatest(active).catch((e) => toast(errorText(e), 'error'));
      if (roomId == null) actions.loadMembers(active);
    }
  };
  session.hooks.reload.add(onReload);
  session.hooks.notification.add(actions.notificationArrived);
  // Removed or banned by a moderator: say so, and leave the room's screen.
  const onRemoved = (roomId, room) => {
    if (room) toast(t('room.removedNotice', { name: roomTitle(room, store.get()) }), 'error');
    if (store.get().activeRoom == null) pickDefaultRoom(true);
  };
  session.hooks.removed.add(onRemoved);

  function renderHeader(s) {
    const room = s.rooms[s.activeRoom];
    const name = room ? roomTitle(room, s) : '';
    const hash = room && room.kind !== 'dm'
      ? h('span', { class: 'room-hash', attrs: { 'aria-hidden': 'true' } }, room.visibility === 'private' ? icon('lock') : '#') : null;
    replaceChildren(title, hash, room ? name : t('app.name'));
    const peer = room && dmPeer(room, s);
    subtitle.textContent = !room ? '' : peer
      ? `@${peer.username} · ${t(s.presence[peer.id] === 'online' ? 'presence.online' : 'presence.offline')}`
      : [room.archived ? t('room.archivedTag') : null, room.topic || t('room.members', { count: room.member_count || 0 })].filter(Boolean).join(' · ');
    infoBtn.hidden = !room;
    modBtn.hidden = !room || !moderates(s, s.activeRoom);
    queueBtn.hidden = !room || !showsQueue(s, s.activeRoom);
    const unreadN = s.notificationsUnread;
    bellBadge.hidden = !unreadN;
    bellBadge.textContent = unreadN > 99 ? '99+' : String(unreadN);
    bell.setAttribute('aria-label', unreadN ? t('inbox.titleUnread', { count: unreadN }) : t('inbox.title'));
    const others = totalUnread(s) - (room ? room.unread || 0 : 0);
    menuBadge.hidden = !others;
    const roomsUnread = totalUnread(s);
    document.title = `${roomsUnread ? `(${roomsUnread}) ` : ''}${name ? `${room.kind === 'dm' ? '' : '#'}${name} — ` : ''}${t('app.name')}`;
  }

  function renderBanner(s) {
    const online = s.status === 'online';
    banner.hidden = online;
    if (online) return;
    const waiting = s.outbox.length;
    replaceChildren(banner, icon(s.status === 'connecting' ? 'clock' : 'alert'),
      h('span', {}, t(s.status === 'connecting' ? 'conn.bannerConnecting' : 'conn.bannerOffline')),
      waiting ? h('span', { class: 'banner-sub' }, t('conn.queued', { count: waiting })) : null,
      s.status === 'offline' ? h('button', { class: 'link-btn', attrs: { type: 'button' }, on: { click: () => session.conn.reconnectNow() } }, t('conn.retryNow')) : null);
  }

  function render(s) {
    sidebar.render(s);
    const hasRoom = s.activeRoom != null && s.activeRoom in s.rooms;
    empty.hidden = hasRoom;
    messages.el.hidden = !hasRoom;
    composer.el.hidden = !hasRoom;
    renderHeader(s);
    workshopClock.render(s);
    renderBanner(s);
    guestBanner.render(s);
    if (hasRoom) messages.render(s);
    composer.render(s);
    if (queueOpen && queue.roomId !== s.activeRoom) {
      if (hasRoom && showsQueue(s, s.activeRoom)) queue.show(s.activeRoom); else setQueue(false);
    }
    queue.render(s);
  }
  const unsubscribe = store.subscribe(render);
  render(store.get());

  // Typing indicators expire on their own; a slow tick is enough for that.
  const tick = setInterval(() => { if (Object.keys(store.get().typing).length) store.dispatch({ op: 'local.typingExpire' }); }, 1000);

  return {
    jump,
    destroy() {
      clearInterval(tick);
      document.removeEventListener('keydown', onSearchKey);
      stopShortcuts();
      workshopClock.destroy();
      unsubscribe();
      messages.destroy();
      composer.destroy();
      session.hooks.removed.delete(onRemoved);
      session.hooks.reload.delete(onReload);
      session.hooks.notification.delete(actions.notificationArrived);
      uninstallCards();
      uninstallAvatars();
    },
  };
}
