/* harmnet service worker: the shell and the contact form offline, and the encrypted queue
   of contacts saved with no network, sent once through /api/v1/ with their idempotency key.
   Served by /sw.js, which fills in the release version and the shell's URLs. */
'use strict';
const VERSION = '__VERSION__';
const SHELL = __SHELL__;
const PAGES = 'pages-' + VERSION;
const STATIC = 'static-' + VERSION;
const FORM = /^\/g\/[^/]+\/contacts\/new$/;
// A bad network answers late rather than never: after this, the save goes to the queue.
const TIMEOUT = 20000;
// Never kept in the queue: the session's token, the button, the owner (kept beside).
const SKIP = ['csrf_token', 'action', 'queue_owner', 'referral_rows'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(STATIC).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  // A new release drops every page and file the old one kept.
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => !k.endsWith('-' + VERSION))
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (url.origin !== location.origin) return;
  if (req.method === 'POST' && req.mode === 'navigate' && FORM.test(url.pathname)) {
    e.respondWith(post(req, url));
  } else if (req.method === 'GET' && req.mode === 'navigate') {
    e.respondWith(page(req, url));
  } else if (req.method === 'GET' && url.pathname.startsWith('/static/')) {
    e.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
  }
});

self.addEventListener('sync', (e) => {
  if (e.tag === 'queue') e.waitUntil(send());
});

self.addEventListener('message', (e) => {
  const m = e.data || {};
  const reply = (p) => e.waitUntil(p.then((v) => e.ports[0] && e.ports[0].postMessage(v),
    () => e.ports[0] && e.ports[0].postMessage(null)));
  if (m.type === 'status') reply(status(m.owner));
  else if (m.type === 'get') reply(entry(m.owner, m.id));
  else if (m.type === 'sync') reply(send());
  else if (m.type === 'keep') reply(fetch(m.path).then((r) => r.ok && keep(m.path, r)));
  else if (m.type === 'forget') reply(caches.delete(PAGES));
});

function timed(promise) {
  return Promise.race([promise, new Promise((_, no) => setTimeout(() => no(new Error('timeout')), TIMEOUT))]);
}

async function page(req, url) {
  // The sign-in page: whoever comes next sees no page kept for the last person.
  if (url.pathname === '/login') await caches.delete(PAGES);
  try {
    const res = await timed(fetch(req));
    if (res.ok && FORM.test(url.pathname) && !url.search) await keep(url.pathname, res.clone());
    return res;
  } catch (err) {
    return offlinePage(url.pathname);
  }
}

async function offlinePage(path) {
  const cache = await caches.open(PAGES);
  let hit = await cache.match(path);
  if (!hit) { // the start page, or another page: the form is what works offline
    const keys = await cache.keys();
    hit = keys.length ? await cache.match(keys[0]) : null;
  }
  return hit || new Response('Offline', { status: 503, headers: { 'Content-Type': 'text/plain' } });
}

// The cached copy keeps no session token and no form key: the page makes a fresh key,
// so each contact saved from it is a contact of its own.
async function keep(path, res) {
  const html = (await res.text())
    .replace(/(name="(?:csrf_token|idempotency_key)"[^>]*?value=")[^"]*"/g, '$1"')
    .replace(/(value=")[^"]*("[^>]*?name="(?:csrf_token|idempotency_key)")/g, '$1$2');
  const headers = new Headers(res.headers);
  headers.delete('Content-Encoding');
  headers.delete('Content-Length');
  await (await caches.open(PAGES)).put(path, new Response(html, { status: 200, headers }));
}

async function post(req, url) {
  const copy = req.clone();
  let form;
  try {
    const res = await timed(fetch(req));
    // A redirect is a save (or a replay of one): the same form waits in the queue no more.
    if (res.type === 'opaqueredirect' || res.redirected) {
      form = await copy.formData();
      if (form.get('action') === 'save') await drop(form.get('queue_owner'), form.get('idempotency_key'));
    }
    return res;
  } catch (err) {
    form = form || await copy.formData();
    if (!form.get('queue_owner')) return offlinePage(url.pathname);
    if (form.get('action') !== 'save') {
      // "Check client" or "Add another referral" with no network: what was typed is kept
      // (to be finished, not sent on its own), never lost with the page.
      const id = await enqueue(url.pathname, form, 'fix');
      return Response.redirect(new URL(url.pathname + '?fix=' + id, location.origin).href, 303);
    }
    const n = await enqueue(url.pathname, form, 'waiting');
    return Response.redirect(new URL(url.pathname + '?queued=' + n, location.origin).href, 303);
  }
}

// --- IndexedDB: keys (one non-extractable AES-GCM key per owner) and entries -----------

function db() {
  return new Promise((ok, no) => {
    const r = indexedDB.open('harmnet-queue', 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore('keys', { keyPath: 'owner' });
      r.result.createObjectStore('entries', { keyPath: 'id', autoIncrement: true });
    };
    r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error);
  });
}

async function tx(store, mode, fn) {
  const d = await db();
  return new Promise((ok, no) => {
    const t = d.transaction(store, mode);
    const r = fn(t.objectStore(store));
    t.oncomplete = () => ok(r && r.result);
    t.onerror = () => no(t.error);
  });
}

async function ownerKey(owner, make) {
  const found = await tx('keys', 'readonly', (s) => s.get(owner));
  if (found || !make) return found && found.key;
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  await tx('keys', 'readwrite', (s) => s.put({ owner, key }));
  return key;
}

const te = new TextEncoder();

async function seal(owner, value) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: te.encode(owner) },
    await ownerKey(owner, true), te.encode(JSON.stringify(value)));
  return { iv, data };
}

async function unseal(e) {
  const key = await ownerKey(e.owner, false);
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: e.iv, additionalData: te.encode(e.owner) }, key, e.data);
  return JSON.parse(new TextDecoder().decode(plain));
}

const all = () => tx('entries', 'readonly', (s) => s.getAll());

async function enqueue(path, form, state) {
  const owner = form.get('queue_owner');
  const key = form.get('idempotency_key');
  const pairs = [...form.entries()].filter(([k, v]) => !SKIP.includes(k) && typeof v === 'string');
  const box = await seal(owner, { path, pairs, errors: null, message: null });
  const mine = (await all()).filter((x) => x.owner === owner);
  // The same form again (a double tap, or a fixed entry saved offline) replaces its entry.
  const same = mine.find((x) => x.key === key);
  const row = { owner, key, created: same ? same.created : Date.now(), status: state, ...box };
  if (same) row.id = same.id;
  const id = await tx('entries', 'readwrite', (s) => s.put(row));
  if (state === 'fix') return id;
  if (self.registration.sync) self.registration.sync.register('queue').catch(() => null);
  return mine.filter((x) => x.status === 'waiting').length + (same && same.status === 'waiting' ? 0 : 1);
}

async function drop(owner, key) {
  const found = (await all()).find((x) => x.owner === owner && x.key === key);
  if (found) await tx('entries', 'readwrite', (s) => s.delete(found.id));
}

async function status(owner) {
  const mine = (await all()).filter((x) => x.owner === owner).sort((a, b) => a.created - b.created);
  const fix = [];
  for (const x of mine.filter((y) => y.status === 'fix')) {
    fix.push({ id: x.id, path: (await unseal(x)).path });
  }
  return { waiting: mine.filter((x) => x.status === 'waiting').length, fix };
}

async function entry(owner, id) {
  const found = (await all()).find((x) => x.owner === owner && x.id === id);
  return found ? unseal(found) : null;
}

// --- sending ------------------------------------------------------------------------------

const INTS = /^(participants|condoms|lubricants|leaflets|self_test_kits|provider)$/;

function toApi(pairs, owner) {
  const body = { topics: [], referrals: [], queue_owner: owner };
  for (const [k, v] of pairs) {
    const m = /^referrals-(\d+)-(\w+)$/.exec(k);
    const value = INTS.test(m ? m[2] : k) && /^\d{1,9}$/.test(v) ? Number(v) : v;
    if (m) {
      const r = body.referrals[m[1]] = body.referrals[m[1]] || {};
      if (m[2] === 'reminder_consent') r.reminder_consent = true;
      else if (v !== '') r[m[2]] = value;
    } else if (k === 'topics') body.topics.push(v);
    else if (v !== '') body[k] = value;
  }
  body.referrals = body.referrals.filter((r) => r && Object.keys(r).length);
  return body;
}

let sending = null;

function send() {
  sending = sending || sendAll().finally(() => { sending = null; });
  return sending;
}

async function sendAll() {
  const me = await fetch('/api/v1/me', { credentials: 'same-origin' }).catch(() => null);
  if (!me || !me.ok) return null; // offline, or signed out: the queue waits for its owner
  const { queue_owner: owner, csrf_token: token } = await me.json();
  const mine = (await all()).filter((x) => x.owner === owner && x.status === 'waiting')
    .sort((a, b) => a.created - b.created);
  const sent = [];
  for (const x of mine) {
    const value = await unseal(x);
    const api = value.path.replace(/^\/g\/([^/]+)\/contacts\/new$/, '/api/v1/groups/$1/contacts');
    let res;
    try {
      res = await timed(fetch(api, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token, Accept: 'application/json' },
        body: JSON.stringify(toApi(value.pairs, owner)),
      }));
    } catch (err) {
      break; // the network went again: the rest waits, in order
    }
    if (res.status === 200 || res.status === 201) {
      const saved = await res.json();
      sent.push({ url: saved.url, returning: saved.returning_client });
      await tx('entries', 'readwrite', (s) => s.delete(x.id));
    } else if (res.status === 422 || res.status === 403 || res.status === 404) {
      // Refused: back to the phone, with the server's words, to be fixed and sent again.
      const problem = await res.json().catch(() => ({}));
      const box = await seal(owner, { ...value, errors: problem.errors || {}, message: problem.detail || '' });
      await tx('entries', 'readwrite', (s) => s.put({ ...x, ...box, status: 'fix' }));
    } else {
      break; // session ended, token stale, server trouble: keep everything for later
    }
  }
  const clients = await self.clients.matchAll();
  clients.forEach((c) => c.postMessage({ type: 'changed', sent }));
  return sent;
}
