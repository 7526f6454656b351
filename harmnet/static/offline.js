/* harmnet on the phone. First the contact form's small helps (they need no service worker):
   the client check answers in place, referral rows are added in the page, the day-and-channel
   line follows the choice. Without this script the form does each with a reload. */
(function () {
  'use strict';
  const form = document.querySelector('form.entry[data-check]');
  if (!form) return;
  const out = document.getElementById('check');
  const CODE = ['mother', 'father', 'sex', 'birth_year'];
  const val = (n) => { const el = form.elements[n]; return el ? (el.value || '').trim() : ''; };
  let timer = null;
  let ctl = null;
  let last = '';

  // Enough of the code to be worth asking: the sex and a year, or the sex and both names.
  const ready = () => val('sex') && (/^\d{4}$/.test(val('birth_year')) || (val('mother') && val('father')));

  function check(force) {
    const key = CODE.map(val).join('|');
    if ((!force && key === last) || !navigator.onLine) return;
    last = key;
    const body = new FormData();
    ['csrf_token', ...CODE].forEach((n) => body.append(n, val(n)));
    if (ctl) ctl.abort();
    ctl = new AbortController();
    fetch(form.dataset.check, { method: 'POST', body, credentials: 'same-origin', signal: ctl.signal })
      .then((r) => r.text()).then((html) => { out.innerHTML = html; })
      .catch(() => { last = ''; });
  }

  // Another referral row: a blank copy of the first, its names and ids numbered on.
  function addRow(button, focus) {
    const rows = form.querySelectorAll('.ref');
    const n = rows.length;
    if (!button || n >= Number(button.dataset.slots)) return;
    const copy = rows[0].cloneNode(true);
    copy.id = 'referral-' + (n + 1);
    copy.querySelectorAll('.has-error').forEach((e) => e.classList.remove('has-error'));
    copy.querySelectorAll('[id$="-err"]').forEach((e) => e.remove());
    copy.querySelectorAll('[name], [id], label[for]').forEach((el) => {
      ['name', 'id', 'for', 'aria-describedby'].forEach((a) => {
        const v = el.getAttribute(a);
        if (v) el.setAttribute(a, v.split(' ').filter((t) => !/-err$/.test(t)).join(' ').replace(/referrals-0-/g, 'referrals-' + n + '-'));
      });
      if (el.getAttribute('aria-describedby') === '') el.removeAttribute('aria-describedby');
      el.removeAttribute('aria-invalid');
      if (el.type === 'checkbox') el.checked = false;
      else if (el.tagName === 'SELECT') el.selectedIndex = 0;
      else if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') el.value = '';
    });
    copy.querySelectorAll('details').forEach((d) => { d.open = false; });
    const title = document.createElement('h3');
    title.textContent = button.dataset.title.replace('{n}', n + 1);
    copy.prepend(title);
    rows[n - 1].after(copy);
    form.elements.referral_rows.value = n + 1;
    if (n + 1 >= Number(button.dataset.slots)) button.hidden = true;
    if (focus) copy.querySelector('select').focus();
  }
  // A refused entry kept on the phone may hold more rows than the page: made before filling.
  form.addEventListener('harmnet:rows', (e) => {
    const button = form.querySelector('button[value=add_referral]');
    while (form.querySelectorAll('.ref').length < e.detail && !(button && button.hidden)) {
      const before = form.querySelectorAll('.ref').length;
      addRow(button, false);
      if (form.querySelectorAll('.ref').length === before) break;
    }
  });

  form.addEventListener('input', (e) => {
    if (e.target.name === 'channel') {
      const label = e.target.closest('label');
      const shown = form.querySelector('[data-channel]');
      if (label && shown) shown.textContent = label.textContent.trim();
    }
    if (!CODE.includes(e.target.name)) return;
    clearTimeout(timer);
    if (ready()) timer = setTimeout(() => check(false), 350);
  });
  form.addEventListener('click', (e) => {
    const button = e.target.closest('button[name=action]');
    if (!button || button.value === 'save') return;
    e.preventDefault();
    if (button.value === 'check') check(true);
    else if (button.value === 'add_referral') addRow(button, true);
  });
})();

/* The offline part: registers the service worker, shows the offline queue (in the
   page's language: the texts come from the page), sends it when the network returns,
   opens a refused entry for fixing, and warns before signing out with unsent entries. */
(function () {
  'use strict';
  const sw = navigator.serviceWorker;
  const box = document.getElementById('queue');
  if (!sw) return;
  const owner = box ? box.dataset.owner : null;
  const form = document.querySelector('form.entry');
  const params = new URLSearchParams(location.search);
  let counts = { waiting: 0, fix: [] };

  sw.register('/sw.js').catch(() => null);

  function ask(msg) {
    return sw.ready.then((reg) => new Promise((ok) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = (e) => ok(e.data);
      (sw.controller || reg.active).postMessage(msg, [ch.port2]);
    }));
  }

  if (!owner) { // signed out: no page of the last person stays on this phone
    ask({ type: 'forget' });
    return;
  }

  function text(name, n) {
    return (box.dataset[name] || '').replace('{n}', n);
  }

  function item(label, href, extra) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.textContent = label;
    a.href = href;
    li.appendChild(a);
    if (extra) li.appendChild(document.createTextNode(' ' + extra));
    return li;
  }

  function show(sent) {
    const p = box.querySelector('p');
    const ul = box.querySelector('ul');
    const lines = [];
    ul.textContent = '';
    if (sent && sent.length) {
      lines.push(text('sent', sent.length));
      sent.forEach((s) => ul.appendChild(item(box.dataset.saved, s.url,
        s.returning === true ? box.dataset.returning : s.returning === false ? box.dataset.new : '')));
    }
    if (counts.waiting) lines.push(text('waiting', counts.waiting));
    if (counts.fix.length) {
      lines.push(text('fix', counts.fix.length));
      counts.fix.forEach((f) => ul.appendChild(item(box.dataset.open, f.path + '?fix=' + f.id)));
    }
    p.textContent = lines.join(' ');
    box.hidden = !lines.length;
  }

  function refresh(sent) {
    return ask({ type: 'status', owner }).then((c) => { if (c) counts = c; show(sent); });
  }

  function sync() {
    if (!navigator.onLine) return;
    ask({ type: 'sync' }).then((sent) => refresh(sent));
    const empty = document.querySelectorAll('input[name="csrf_token"]:not([value]), input[name="csrf_token"][value=""]');
    if (empty.length) { // a copy kept for offline use has no token: fetch this session's
      fetch('/api/v1/me').then((r) => r.ok && r.json()).then((me) => {
        if (me) empty.forEach((i) => { i.value = me.csrf_token; });
      }).catch(() => null);
    }
  }

  function offline() {
    document.body.classList.toggle('offline', !navigator.onLine);
  }

  sw.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'changed') refresh(e.data.sent);
  });
  window.addEventListener('online', () => { offline(); sync(); });
  window.addEventListener('offline', offline);
  offline();

  if (form) {
    const key = form.querySelector('input[name="idempotency_key"]');
    if (key && !key.value) { // a copy kept for offline use: a new contact gets a new key
      const bytes = crypto.getRandomValues(new Uint8Array(24));
      key.value = btoa(String.fromCharCode.apply(null, bytes))
        .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    }
    if (!sw.controller && navigator.onLine && !location.search) {
      ask({ type: 'keep', path: location.pathname }); // first visit: keep it for offline
    }
    const fix = Number(params.get('fix'));
    if (fix) ask({ type: 'get', owner, id: fix }).then((entry) => entry && fill(entry));
  }

  function fill(entry) {
    const rows = Math.max(0, ...entry.pairs.map(([k]) => {
      const m = /^referrals-(\d+)-/.exec(k);
      return m ? Number(m[1]) + 1 : 0;
    }));
    form.dispatchEvent(new CustomEvent('harmnet:rows', { detail: rows }));
    form.querySelectorAll('input[type=checkbox], input[type=radio]').forEach((i) => { i.checked = false; });
    entry.pairs.forEach(([k, v]) => {
      const els = form.querySelectorAll('[name="' + k + '"]');
      els.forEach((el) => {
        if (el.type === 'checkbox' || el.type === 'radio') { if (el.value === v) el.checked = true; }
        else el.value = v;
      });
    });
    // What holds a value is shown: its referral row, its folded part of the form.
    form.querySelectorAll('input:not([type=hidden]), select, textarea').forEach((el) => {
      const has = (el.type === 'checkbox' || el.type === 'radio') ? el.checked && el.name !== 'channel' : el.value;
      if (!has) return;
      for (let d = el.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
    });
    Object.keys(entry.errors || {}).forEach((name) => {
      const el = form.querySelector('[name="' + name + '"]');
      const where = el && el.closest('.field, fieldset');
      if (!where) return;
      where.classList.add('has-error');
      const box = document.createElement('div');
      box.id = el.id + '-err';
      (entry.errors[name] || []).forEach((msg) => {
        const p = document.createElement('p');
        p.className = 'error';
        p.textContent = msg;
        box.appendChild(p);
      });
      where.appendChild(box);
      form.querySelectorAll('[name="' + name + '"]').forEach((f) => {
        f.setAttribute('aria-invalid', 'true');
        f.setAttribute('aria-describedby', box.id);
      });
      for (let d = el.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
    });
    const note = document.createElement('p');
    note.className = 'flash flash-error';
    note.setAttribute('role', 'alert');
    note.textContent = entry.message || box.dataset.unsent;
    form.parentNode.insertBefore(note, form);
  }

  // Signing out with unsent entries: say so, offer to send first; never drop them silently.
  const warn = document.getElementById('signout-warn');
  document.querySelectorAll('form[data-signout]').forEach((f) => {
    f.addEventListener('submit', (e) => {
      if (f.dataset.confirmed || !(counts.waiting + counts.fix.length) || !warn) {
        ask({ type: 'forget' });
        return;
      }
      e.preventDefault();
      warn.hidden = false;
      warn.querySelector('[data-send]').onclick = () => { warn.hidden = true; sync(); };
      warn.querySelector('[data-leave]').onclick = () => {
        f.dataset.confirmed = '1';
        ask({ type: 'forget' }).then(() => f.submit());
      };
      warn.querySelector('[data-send]').focus();
    });
  });

  refresh(null).then(sync);
})();
