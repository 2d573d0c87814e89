// Settings: profile (picture, display name, pronouns, region, bio), language, theme, who may DM me,
// notification levels (default and per room), browser notifications, and the
// account itself: password, logging out everywhere, data export and deletion.

import { h } from '../dom.js';
import { t, errorText, lang, setLang } from '../i18n.js';
import { themePreference, setTheme } from '../theme.js';
import { roomTitle, groupedRooms } from '../selectors.js';
import { openDialog, select, toast } from './ui.js';
import { guestAccountBlock, guestMe } from './upgrade.js';
import { profileEditor } from './profile-edit.js';
import { setSoundEnabled, soundEnabled } from '../sound.js';

export const LEVELS = ['all', 'friends', 'mentions', 'none'];

export function levelOptions(withDefault) {
  const opts = LEVELS.map((l) => [l, t(`level.${l}`)]);
  return withDefault ? [['', t('level.default')], ...opts] : opts;
}

function browserNotificationsBlock() {
  const supported = typeof Notification !== 'undefined';
  const status = h('p', { class: 'muted' });
  const button = h('button', { class: 'btn btn-soft', attrs: { type: 'button' } }, t('settings.enableBrowser'));
  const update = () => {
    const p = supported ? Notification.permission : 'unsupported';
    status.textContent = t(`settings.browser.${p}`);
    button.hidden = p !== 'default';
  };
  button.addEventListener('click', async () => {
    try { await Notification.requestPermission(); } catch { /* older API shape: ignore */ }
    update();
  });
  update();
  return h('div', { class: 'field' }, h('span', { class: 'label' }, t('settings.browserTitle')), status, button);
}

/** The notification sound: off unless turned on here (turning it on plays it once). */
function soundBlock() {
  const box = h('input', {
    attrs: { type: 'checkbox', id: 'set-sound' }, props: { checked: soundEnabled() },
    on: { change: () => setSoundEnabled(box.checked) },
  });
  return h('div', { class: 'field' }, h('span', { class: 'label' }, t('settings.sound')),
    h('label', { class: 'check', attrs: { for: 'set-sound' } }, box, t('settings.soundLabel')));
}

/** A password field with its label; `id` ties them together for screen readers. */
function passwordField(id, label, autocomplete) {
  const input = h('input', { class: 'input', attrs: { id, type: 'password', autocomplete, required: true, minlength: 8, maxlength: 1024 } });
  return [input, h('div', { class: 'field' }, h('label', { attrs: { for: id } }, label), input)];
}

/** The submit handler of a form whose button is disabled while `work` runs. */
function busyWhile(button, work) {
  return async (e) => {
    e.preventDefault();
    button.disabled = true;
    try { await work(); } finally { button.disabled = false; }
  };
}

/** Shown when a password check fails: a wrong password, or another refusal. */
const passwordError = (err) => (err.code === 'forbidden' ? t('settings.wrongPassword') : errorText(err));

function accountBlocks({ api, signOut }) {
  // --- password change: this session stays, the others end
  const [current, currentField] = passwordField('set-current-password', t('settings.currentPassword'), 'current-password');
  const [next, nextField] = passwordField('set-new-password', t('settings.newPassword'), 'new-password');
  const changeError = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const change = h('button', { class: 'btn btn-soft', attrs: { type: 'submit' } }, t('settings.changePassword'));
  const changeForm = h('form', {
    class: 'stack', attrs: { 'aria-label': t('settings.changePassword') },
    on: {
      submit: busyWhile(change, async () => {
        changeError.textContent = '';
        try {
          await api.changePassword(current.value, next.value);
          current.value = '';
          next.value = '';
          toast(t('settings.passwordChanged'));
        } catch (err) {
          changeError.textContent = passwordError(err);
        }
      }),
    },
  }, h('h4', {}, t('settings.changePassword')), currentField, nextField, changeError, h('div', { class: 'row-end' }, change));

  // --- log out everywhere
  const everywhere = h('button', { class: 'btn btn-soft', attrs: { type: 'button', 'aria-describedby': 'set-logout-all-lead' } }, t('settings.logoutAll'));
  everywhere.addEventListener('click', async () => {
    everywhere.disabled = true;
    try {
      await api.logoutAll();
      signOut();
    } catch (err) {
      toast(errorText(err), 'error');
      everywhere.disabled = false;
    }
  });

  // --- export: the JSON the server returns, saved as a file
  const exportBtn = h('button', { class: 'btn btn-soft', attrs: { type: 'button', 'aria-describedby': 'set-export-lead' } }, t('settings.export'));
  exportBtn.addEventListener('click', async () => {
    exportBtn.disabled = true;
    try {
      const data = await api.exportMe();
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
      const link = h('a', { attrs: { href: url, download: `${data.user.username}-export.json`, hidden: true } });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      toast(t('settings.exportReady'));
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      exportBtn.disabled = false;
    }
  });

  // --- deletion: the password again, then an explicit confirmation
  const [confirmPw, confirmField] = passwordField('set-delete-password', t('settings.deletePassword'), 'current-password');
  const deleteError = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const remove = h('button', { class: 'btn btn-ghost danger', attrs: { type: 'submit' } }, t('settings.deleteAccount'));
  const deleteForm = h('form', {
    class: 'stack', attrs: { 'aria-label': t('settings.deleteAccount') },
    on: {
      submit: busyWhile(remove, async () => {
        deleteError.textContent = '';
        if (!window.confirm(t('settings.deleteConfirm'))) return;
        try {
          await api.deleteMe(confirmPw.value);
          signOut();
        } catch (err) {
          deleteError.textContent = passwordError(err);
        }
      }),
    },
  },
  h('h4', {}, t('settings.deleteAccount')),
  h('p', { class: 'muted' }, t('settings.deleteLead')),
  confirmField, deleteError, h('div', { class: 'row-end' }, remove));

  return [
    changeForm,
    h('h4', {}, t('settings.logoutAll')),
    h('p', { class: 'muted', attrs: { id: 'set-logout-all-lead' } }, t('settings.logoutAllLead')),
    h('div', { class: 'row-end' }, everywhere),
    h('h4', {}, t('settings.export')),
    h('p', { class: 'muted', attrs: { id: 'set-export-lead' } }, t('settings.exportLead')),
    h('div', { class: 'row-end' }, exportBtn),
    deleteForm,
  ];
}

export function openSettings({ store, api, actions, signOut, onUpgrade }) {
  const s = store.get();
  const me = s.users[s.me.id] || s.me;

  // --- profile: picture, name, pronouns, region, bio (views/profile-edit.js)
  const profile = profileEditor({ store, api, actions });

  // --- preferences
  const langSel = select([['fr', 'Français'], ['en', 'English']], lang(), (v) => { dlg.close(); setLang(v); }, { id: 'set-lang' });
  const themeSel = select([['system', t('theme.system')], ['light', t('theme.light')], ['dark', t('theme.dark')]], themePreference(), setTheme, { id: 'set-theme' });
  const dmSel = select([['everyone', t('settings.dmEveryone')], ['friends', t('settings.dmFriends')]], me.dm_policy || 'everyone', async (v) => {
    try { await actions.updateProfile({ dm_policy: v }); toast(t('settings.saved')); } catch (err) { toast(errorText(err), 'error'); }
  }, { id: 'set-dm' });

  // --- notifications
  const defaultSel = select(levelOptions(false), 'mentions', async (v) => {
    try { await api.putNotificationSettings({ default: v }); toast(t('settings.saved')); } catch (err) { toast(errorText(err), 'error'); }
  }, { id: 'set-default-level' });
  const perRoom = h('ul', { class: 'level-list', attrs: { role: 'list' } });
  api.notificationSettings().then((cfg) => {
    defaultSel.value = cfg.default || 'mentions';
    const groups = groupedRooms(store.get(), lang());
    const rooms = [...groups.cohort, ...groups.region, ...groups.topic, ...groups.dm];
    perRoom.replaceChildren(...rooms.map((room) => {
      const id = `lvl-${room.id}`;
      const current = (cfg.rooms && cfg.rooms[String(room.id)]) || '';
      return h('li', { class: 'level-row' },
        h('label', { attrs: { for: id } }, room.kind === 'dm' ? roomTitle(room, store.get()) : `# ${roomTitle(room, store.get())}`),
        select(levelOptions(true), current, async (v) => {
          try { await actions.setNotifyLevel(room.id, v || null); toast(t('settings.saved')); } catch (err) { toast(errorText(err), 'error'); }
        }, { id }));
    }));
  }).catch((err) => perRoom.replaceChildren(h('li', { class: 'muted' }, errorText(err))));

  const section = (title, ...children) => h('section', { class: 'settings-section' }, h('h3', {}, title), ...children);
  const dlg = openDialog({
    title: t('settings.title'),
    className: 'dialog-wide',
    content: [
      section(t('settings.profile'), profile.el),
      section(t('settings.preferences'),
        h('div', { class: 'field-row' }, h('label', { attrs: { for: 'set-lang' } }, t('settings.language')), langSel),
        h('div', { class: 'field-row' }, h('label', { attrs: { for: 'set-theme' } }, t('settings.theme')), themeSel),
        h('div', { class: 'field-row' }, h('label', { attrs: { for: 'set-dm' } }, t('settings.dmPolicy')), dmSel)),
      section(t('settings.notifications'),
        h('p', { class: 'muted' }, t('settings.levelsLead')),
        h('div', { class: 'field-row' }, h('label', { attrs: { for: 'set-default-level' } }, t('settings.defaultLevel')), defaultSel),
        h('h4', {}, t('settings.perRoom')),
        perRoom,
        browserNotificationsBlock(),
        soundBlock()),
      // The dialog lives outside the shell: close it before the welcome screen comes back.
      // A guest has no password yet: their account section is the way to create one.
      guestMe(s) && onUpgrade
        ? section(t('settings.account'), ...guestAccountBlock(store, () => { dlg.close(); onUpgrade(); }))
        : section(t('settings.account'), ...accountBlocks({ api, signOut: () => { dlg.close(); signOut(); } })),
    ],
  });
  profile.focus();
}
