// Editing one's own profile in the settings: the picture (chosen, previewed, then
// uploaded; the server crops it square and resizes it), display name, pronouns,
// region and a short bio, with the server's limits shown as you type.

import { h, icon, avatar } from '../dom.js';
import { t, errorText } from '../i18n.js';
import { previewUrl } from '../avatars.js';
import { toast } from './ui.js';

export const BIO_MAX = 300;
export const BIO_MAX_LINES = 6;
export const PRONOUNS_MAX = 32;
const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const AVATAR_MAX_BYTES = 5 * 1024 * 1024;

/** What is wrong with a bio as typed, or null (the server checks the same). */
export function bioProblem(text) {
  const bio = text.replace(/\r\n/g, '\n').trim();
  if ([...bio].length > BIO_MAX) return t('profile.bioTooLong', { max: BIO_MAX });
  if (bio.split('\n').length > BIO_MAX_LINES) return t('profile.bioTooManyLines', { max: BIO_MAX_LINES });
  return null;
}

/** A picture the server will take, or the reason it will not. */
export function pictureProblem(file) {
  if (!AVATAR_TYPES.includes(file.type)) return t('profile.avatarType');
  if (file.size > AVATAR_MAX_BYTES) return t('profile.avatarTooBig', { mb: AVATAR_MAX_BYTES / 1024 / 1024 });
  return null;
}

/**
 * The profile form. Returns {el, focus}. The current profile (bio, pronouns) is read
 * with GET /api/users/{own id}; name and region are known already.
 */
export function profileEditor({ store, api, actions }) {
  const s = store.get();
  const me = s.users[s.me.id] || s.me;
  const isGuest = me.role === 'guest';

  // ---- the picture
  let chosen = null;
  let shownUrl = null;
  const picture = h('span', { class: 'profile-edit-avatar' }, avatar(me, 'xl'));
  const fileInput = h('input', {
    class: 'visually-hidden',
    attrs: { id: 'set-avatar', type: 'file', accept: AVATAR_TYPES.join(','), 'aria-describedby': 'set-avatar-hint' },
  });
  const chooseBtn = h('button', { class: 'btn btn-soft btn-small', attrs: { type: 'button' }, on: { click: () => fileInput.click() } },
    icon('image'), t('profile.avatarChoose'));
  const uploadBtn = h('button', { class: 'btn btn-primary btn-small', attrs: { type: 'button', hidden: true } }, t('profile.avatarUpload'));
  const removeBtn = h('button', { class: 'btn btn-ghost btn-small', attrs: { type: 'button', hidden: !me.avatar } }, t('profile.avatarRemove'));
  const pictureNote = h('p', { class: 'field-hint', attrs: { id: 'set-avatar-hint', role: 'status' } }, t('profile.avatarHint'));

  const showPicture = (user) => {
    if (shownUrl) { URL.revokeObjectURL(shownUrl); shownUrl = null; }
    picture.replaceChildren(avatar(user, 'xl'));
    removeBtn.hidden = !user.avatar;
  };
  fileInput.addEventListener('change', () => {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    const problem = pictureProblem(file);
    if (problem) {
      pictureNote.textContent = problem;
      pictureNote.classList.add('form-error');
      fileInput.value = '';
      return;
    }
    pictureNote.classList.remove('form-error');
    pictureNote.textContent = t('profile.avatarPreview');
    chosen = file;
    if (shownUrl) URL.revokeObjectURL(shownUrl);
    shownUrl = previewUrl(file);
    // The preview shows the centre square, as the server will crop it.
    picture.replaceChildren(h('span', { class: 'avatar avatar-xl' },
      h('img', { class: 'avatar-img', attrs: { alt: t('profile.avatarPreviewAlt'), src: shownUrl } })));
    uploadBtn.hidden = false;
  });
  uploadBtn.addEventListener('click', async () => {
    if (!chosen) return;
    uploadBtn.disabled = true;
    pictureNote.textContent = t('profile.avatarUploading');
    try {
      const user = await actions.setAvatar(chosen);
      chosen = null;
      fileInput.value = '';
      uploadBtn.hidden = true;
      showPicture(user);
      pictureNote.textContent = t('profile.avatarHint');
      toast(t('profile.avatarSaved'));
    } catch (err) {
      pictureNote.textContent = errorText(err);
      pictureNote.classList.add('form-error');
    } finally {
      uploadBtn.disabled = false;
    }
  });
  removeBtn.addEventListener('click', async () => {
    removeBtn.disabled = true;
    try {
      showPicture(await actions.removeAvatar());
      toast(t('profile.avatarRemoved'));
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      removeBtn.disabled = false;
    }
  });
  const pictureBlock = isGuest ? null : h('div', { class: 'profile-edit-picture' },
    picture,
    h('div', { class: 'stack-tight' },
      h('label', { class: 'field-label', attrs: { for: 'set-avatar' } }, t('profile.avatar')),
      h('div', { class: 'row-wrap' }, chooseBtn, uploadBtn, removeBtn),
      fileInput, pictureNote));

  // ---- the text fields
  const name = h('input', { class: 'input', attrs: { id: 'set-name', maxlength: 64, autocomplete: 'name' }, props: { value: me.display_name || '' } });
  const pronouns = h('input', {
    class: 'input',
    attrs: { id: 'set-pronouns', maxlength: PRONOUNS_MAX, placeholder: t('profile.pronounsPlaceholder'), autocomplete: 'off' },
  });
  const region = h('input', { class: 'input', attrs: { id: 'set-region', maxlength: 64, list: 'region-suggestions', placeholder: t('settings.regionPlaceholder') }, props: { value: me.region || '' } });
  const regions = h('datalist', { attrs: { id: 'region-suggestions' } },
    Object.values(s.rooms).filter((r) => r.kind === 'region').map((r) => h('option', { attrs: { value: r.name } })));
  const bio = h('textarea', {
    class: 'input textarea',
    attrs: { id: 'set-bio', rows: 3, placeholder: t('profile.bioPlaceholder'), 'aria-describedby': 'set-bio-count' },
  });
  const bioCount = h('span', { class: 'field-hint', attrs: { id: 'set-bio-count', 'aria-live': 'polite' } });
  const countBio = () => {
    const problem = bioProblem(bio.value);
    const used = [...bio.value.trim()].length;
    bioCount.textContent = problem || t('profile.bioCount', { used, max: BIO_MAX });
    bioCount.classList.toggle('form-error', !!problem);
    bio.setAttribute('aria-invalid', String(!!problem));
    return !problem;
  };
  bio.addEventListener('input', countBio);
  countBio();
  api.user(me.id).then(({ user }) => {
    // Filled in unless the person already started typing.
    if (!bio.value) bio.value = user.bio || '';
    if (!pronouns.value) pronouns.value = user.pronouns || '';
    countBio();
  }).catch(() => { /* the fields stay empty; saving still works */ });

  const save = h('button', { class: 'btn btn-primary', attrs: { type: 'submit' } }, t('action.save'));
  const form = h('form', {
    class: 'stack profile-edit',
    on: {
      submit: async (e) => {
        e.preventDefault();
        if (!countBio()) { bio.focus(); return; }
        save.disabled = true;
        try {
          await actions.updateProfile({
            display_name: name.value.trim() || null,
            region: region.value.trim() || null,
            pronouns: pronouns.value.trim() || null,
            bio: bio.value.trim() || null,
          });
          toast(t('settings.saved'));
        } catch (err) {
          toast(errorText(err), 'error');
        } finally {
          save.disabled = false;
        }
      },
    },
  },
  pictureBlock,
  h('div', { class: 'field-pair' },
    h('div', { class: 'field' }, h('label', { attrs: { for: 'set-name' } }, t('settings.displayName')), name),
    h('div', { class: 'field field-narrow' }, h('label', { attrs: { for: 'set-pronouns' } }, t('profile.pronouns')), pronouns)),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'set-region' } }, t('settings.region')), region, regions),
  h('div', { class: 'field' }, h('label', { attrs: { for: 'set-bio' } }, t('profile.bio')), bio, bioCount),
  h('div', { class: 'row-end' }, save));

  return { el: form, focus: () => name.focus() };
}
