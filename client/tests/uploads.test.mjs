// The pure side of attachments: sizes, kinds, layouts (two images side by
// side), names, error wording and one-line previews.
import test from 'node:test';
import assert from 'node:assert/strict';
import { formatSize, fileKind, layout, fitBox, uploadErrorKey, cleanName, pastedName, messagePreview, isImage } from '../uploads.js';
import { STRINGS } from '../strings.js';

const img = (id, name = `photo-${id}.jpg`) => ({
  id, name, content_type: 'image/jpeg', size: 2048, width: 1600, height: 1200, url: `/f/${id}`, thumbnail_url: `/f/${id}/thumb`,
});
const pdf = { id: 9, name: 'contrat.pdf', content_type: 'application/pdf', size: 1536, url: '/f/9' };

test('sizes read in each language', () => {
  assert.equal(formatSize(0, 'fr'), '0 o');
  assert.equal(formatSize(1536, 'fr'), '1,5 Ko');
  assert.equal(formatSize(1536, 'en'), '1.5 KB');
  assert.equal(formatSize(10 * 1024 * 1024, 'en'), '10 MB');
  assert.equal(formatSize(250 * 1024, 'en'), '250 KB');
});

test('kinds and layouts: one image, a pair for "A or B?", a grid, and file chips', () => {
  assert.equal(fileKind(pdf), 'pdf');
  assert.equal(fileKind({ content_type: 'text/plain', name: 'notes.txt' }), 'text');
  assert.equal(fileKind({ content_type: 'application/zip', name: 'x.zip' }), 'file');
  assert.equal(isImage(img(1)), true);
  assert.equal(isImage({ ...img(1), thumbnail_url: null }), false);
  assert.equal(layout([img(1)]).mode, 'single');
  const pair = layout([img(1), pdf, img(2)]);
  assert.equal(pair.mode, 'pair');
  assert.deepEqual(pair.images.map((x) => x.id), [1, 2]);
  assert.deepEqual(pair.files.map((x) => x.id), [9]);
  assert.equal(layout([img(1), img(2), img(3)]).mode, 'grid');
  assert.equal(layout([pdf]).mode, 'none');
  assert.equal(layout(undefined).mode, 'none');
});

test('thumbnail boxes keep proportions', () => {
  assert.deepEqual(fitBox(1600, 1200, 360), { width: 360, height: 270 });
  assert.deepEqual(fitBox(100, 50, 360), { width: 100, height: 50 });
  assert.deepEqual(fitBox(null, null, 200), { width: 200, height: 200 });
});

test('every refusal has words in French and English', () => {
  for (const code of ['too_large', 'bad_request', 'quota', 'quota_exceeded', 'limit_reached', 'rate_limited', 'aborted', 'network', 'forbidden', 'http_500', undefined]) {
    const key = uploadErrorKey(code);
    assert.ok(key in STRINGS.fr && key in STRINGS.en, `${code} → ${key}`);
  }
  assert.notEqual(STRINGS.fr[uploadErrorKey('too_large')], STRINGS.fr[uploadErrorKey('bad_request')]);
});

test('names lose paths and control characters; pasted images get a dated name', () => {
  assert.equal(cleanName('../../etc/passwd'), 'passwd');
  assert.equal(cleanName('C:\\Users\\me\\devis.pdf'), 'devis.pdf');
  assert.equal(cleanName('a\u0000b\nc.txt'), 'abc.txt');
  assert.equal(cleanName(''), 'file');
  assert.equal(cleanName('x'.repeat(500)).length, 200);
  const at = new Date(2026, 4, 10, 9, 5, 7);
  assert.equal(pastedName({ type: 'image/png', name: 'image.png' }, at), 'image-20260510-090507.png');
  assert.equal(pastedName({ type: 'image/jpeg', name: 'vacances.jpg' }, at), 'vacances.jpg');
});

test('previews: the text without markers, then the files', () => {
  assert.equal(messagePreview({ body: '**A** ou **B** ?', attachments: [img(1, 'a.jpg'), img(2, 'b.jpg')] }), 'A ou B ? 🖼 a.jpg, 🖼 b.jpg');
  assert.equal(messagePreview({ body: '', attachments: [pdf] }), '📎 contrat.pdf');
  assert.equal(messagePreview({ body: '||fin du film||' }), '▒▒▒▒▒');
  assert.equal(messagePreview(null), '');
  assert.equal(messagePreview({ body: 'x'.repeat(50), attachments: [pdf] }, 20).length, 20);
});
