// Light/dark theme: follows the system (prefers-color-scheme) unless the user
// picked one, which is remembered. CSS reads html[data-theme].

const KEY = 'chat.theme';
export const THEMES = ['system', 'light', 'dark'];

export function themePreference() {
  try {
    const t = localStorage.getItem(KEY);
    return THEMES.includes(t) ? t : 'system';
  } catch {
    return 'system';
  }
}

export function applyTheme(pref = themePreference()) {
  const root = document.documentElement;
  if (pref === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', pref);
  const dark = pref === 'dark' || (pref === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute('content', dark ? '#17181c' : '#ffffff');
}

export function setTheme(pref) {
  try { localStorage.setItem(KEY, pref); } catch { /* not fatal */ }
  applyTheme(pref);
}

/** The theme actually shown, for the toggle's icon and label. */
export function effectiveTheme() {
  const pref = themePreference();
  if (pref !== 'system') return pref;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
