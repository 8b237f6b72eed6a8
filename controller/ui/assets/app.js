// Rampart web UI: a small single-page app over the REST API (docs/API.md)
// and the live feed (/api/v1/feed). No framework; charts by Chart.js.
// Content-Security-Policy forbids inline scripts and styles, so every
// element is built here and styled by class.
'use strict';
(function () {
  const TZ = 'Asia/Ho_Chi_Minh';
  const SEV_COLORS = ['#b71c1c', '#ef6c00', '#f9a825', '#1e88e5', '#78909c'];
  let lang = localStorage.getItem('rampart.lang') || 'vi';
  let session = null;
  let feed = null;
  let charts = [];
  const listeners = { alert: [], link: [] };

  const $ = (sel) => document.querySelector(sel);
  const t = (key) => (window.RAMPART_I18N[lang] || {})[key] || key;

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return el;
  }

  function fmtTime(ms) {
    if (!ms) return '';
    const d = new Date(ms);
    return new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', {
      timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
    }).format(d);
  }
  const fmtIso = (iso) => (iso ? fmtTime(Date.parse(iso)) : '');
  const fmtHour = (ms) => new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB',
    { timeZone: TZ, hour: '2-digit', minute: '2-digit', hour12: false }).format(new Date(ms));

  async function api(path, options) {
    const opts = Object.assign({ credentials: 'same-origin', headers: {} }, options || {});
    if (opts.body && typeof opts.body !== 'string') {
      opts.body = JSON.stringify(opts.body);
      opts.headers['Content-Type'] = 'application/json';
    }
    if (opts.method && opts.method !== 'GET' && session) opts.headers['X-CSRF-Token'] = session.csrf_token;
    const res = await fetch('/api/v1/' + path, opts);
    let body = {};
    try { body = await res.json(); } catch (e) { body = {}; }
    if (res.status === 401 && path !== 'login') { showLogin(); throw new Error(body.error || 'unauthenticated'); }
    if (!res.ok) throw new Error(body.error || (t('error.generic') + ' ' + res.status));
    return body;
  }

  function toast(text, error) {
    const el = $('#toast');
    el.textContent = text;
    el.className = 'toast' + (error ? ' toast-error' : '');
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => el.classList.add('hidden'), 4000);
  }

  function sevBadge(sev) {
    return h('span', { class: 'sev sev-' + sev, text: t('sev.' + sev) });
  }
  function stateBadge(state) {
    return h('span', { class: 'state state-' + state, text: t('state.' + state) });
  }
  function statusBadge(status) {
    return h('span', { class: 'status status-' + status, text: t('st.' + status) });
  }
  function table(headers, rows, cls) {
    return h('table', { class: 'grid ' + (cls || '') },
      h('thead', {}, h('tr', {}, headers.map((x) => (typeof x === 'string' ? h('th', { text: t(x) }) : x)))),
      h('tbody', {}, rows));
  }
  function endpoint(ip, port) { return ip ? (port ? ip + ':' + port : ip) : ''; }

  function applyTexts() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
    document.querySelectorAll('.lang-toggle').forEach((el) => { el.textContent = t('lang.other'); });
    updateLive();
  }

  function switchLang() {
    lang = lang === 'vi' ? 'en' : 'vi';
    localStorage.setItem('rampart.lang', lang);
    applyTexts();
    if (session) route();
  }

  // --- session ---

  function showLogin() {
    session = null;
    if (feed) { feed.close(); feed = null; }
    $('#app').classList.add('hidden');
    $('#login').classList.remove('hidden');
    $('#login-user').focus();
  }

  async function login(ev) {
    ev.preventDefault();
    $('#login-error').textContent = '';
    try {
      session = await api('login', { method: 'POST', body: { user: $('#login-user').value, password: $('#login-password').value } });
      $('#login-password').value = '';
      start();
    } catch (e) {
      $('#login-error').textContent = e.message;
    }
  }

  async function logout() {
    try { await api('logout', { method: 'POST' }); } catch (e) { /* the session may be gone already */ }
    showLogin();
  }

  function start() {
    $('#login').classList.add('hidden');
    $('#app').classList.remove('hidden');
    $('#whoami').textContent = session.user + ' (' + session.role + ')';
    document.body.dataset.role = session.role;
    connectFeed();
    if (!location.hash || location.hash === '#/') location.hash = '#/dashboard';
    else route();
  }

  // --- live feed ---

  function updateLive() {
    const el = $('#live');
    if (!el) return;
    const on = feed && feed.readyState === WebSocket.OPEN;
    el.textContent = on ? '● ' + t('live.on') : '○ ' + t('live.off');
    el.className = 'live ' + (on ? 'live-on' : 'live-off');
  }

  function connectFeed() {
    if (feed) feed.close();
    const ws = new WebSocket('wss://' + location.host + '/api/v1/feed');
    feed = ws;
    ws.onopen = updateLive;
    ws.onclose = () => {
      updateLive();
      if (session && feed === ws) setTimeout(() => { if (session && feed === ws) connectFeed(); }, 3000);
    };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      (listeners[msg.type] || []).forEach((fn) => fn(msg));
    };
  }

  // --- pages ---

  function clearPage() {
    charts.forEach((c) => c.destroy());
    charts = [];
    listeners.alert = [];
    listeners.link = [];
    const main = $('#main');
    main.replaceChildren();
    return main;
  }

  function chart(canvas, config) {
    if (!window.Chart) return null;
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    const c = new window.Chart(canvas, config);
    charts.push(c);
    return c;
  }

  async function dashboard(main) {
    const d = await api('dashboard');
    const canvas = h('canvas', { id: 'chart-over-time' });
    const total = h('div', { class: 'big', id: 'dash-total', text: String(d.total) });
    main.append(h('h2', { text: t('nav.dashboard') }),
      h('div', { class: 'cards' },
        h('div', { class: 'card' }, h('div', { class: 'muted', text: t('dash.total') }), total),
        h('div', { class: 'card' }, h('div', { class: 'muted', text: t('dash.agents') }),
          h('div', { class: 'big' }, h('span', { class: 'ok', text: String(d.agents.up) }), ' / ',
            h('span', { class: 'bad', text: String(d.agents.down) })),
          h('div', { class: 'muted', text: t('dash.online') + ' / ' + t('dash.offline') }))),
      h('div', { class: 'card' }, h('h3', { text: t('dash.over_time') }), h('div', { class: 'chart-box' }, canvas)),
      h('div', { class: 'two' },
        h('div', { class: 'card' }, h('h3', { text: t('dash.top_sigs') }),
          table(['col.signature', ''], d.top_signatures.map((s) => h('tr', {},
            h('td', {}, h('a', { href: '#/alerts?q=' + encodeURIComponent(s.signature), text: s.signature })),
            h('td', { class: 'num', text: String(s.count) }))))),
        h('div', { class: 'card' }, h('h3', { text: t('dash.top_sources') }),
          table(['col.src', ''], d.top_sources.map((s) => h('tr', {},
            h('td', {}, h('a', { href: '#/alerts?address=' + encodeURIComponent(s.ip), text: s.ip })),
            h('td', { class: 'num', text: String(s.count) })))))),
      h('div', { class: 'card' }, h('h3', { text: t('dash.sites') }),
        h('div', { class: 'site-grid' }, d.sites.map((s) => h('a', {
          class: 'site-tile state-bg-' + s.state, href: '#/links', title: s.reason || '',
        }, h('strong', { text: s.id }), h('span', { text: t('state.' + s.state) }),
          h('span', { class: 'muted', text: s.rtt_ms ? s.rtt_ms.toFixed(1) + ' ms' : '' }))))));
    const c = chart(canvas, {
      type: 'bar',
      data: {
        labels: d.hours.map((x) => fmtHour(x.start_ms)),
        datasets: [1, 2, 3, 4].map((sev) => ({
          label: t('sev.' + sev), backgroundColor: SEV_COLORS[sev - 1],
          data: d.hours.map((x) => x.by_severity[sev - 1]),
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });
    listeners.alert.push((msg) => {
      total.textContent = String(Number(total.textContent) + 1);
      if (c) {
        const ds = c.data.datasets[Math.min(Math.max(msg.alert.severity, 1), 4) - 1];
        ds.data[ds.data.length - 1] += 1;
        c.update();
      }
    });
  }

  // Alerts: filters in the hash query so a view can be linked and reloaded.
  function alertFilters() {
    const q = new URLSearchParams(location.hash.split('?')[1] || '');
    return q;
  }

  async function alerts(main) {
    const filters = alertFilters();
    const cursorStack = [];
    let cursor = '';
    const selected = new Set();
    const tbody = h('tbody', { id: 'alert-rows' });
    const pager = h('div', { class: 'pager' });
    const banner = h('button', { type: 'button', class: 'banner hidden', id: 'new-alerts' });
    let pendingNew = 0;

    const field = (name, label, attrs) => h('label', {}, h('span', { text: t(label) }),
      h('input', Object.assign({ name, value: filters.get(name) || '' }, attrs || {})));
    const sevSelect = h('select', { name: 'severity' }, h('option', { value: '', text: t('f.any') }),
      [1, 2, 3, 4].map((s) => h('option', { value: String(s), text: t('sev.' + s), selected: filters.get('severity') === String(s) })));
    const statusSelect = h('select', { name: 'status' }, h('option', { value: '', text: t('f.any') }),
      ['new', 'acknowledged', 'closed'].map((s) => h('option', { value: s, text: t('st.' + s), selected: filters.get('status') === s })));
    const form = h('form', { class: 'filters', id: 'alert-filters' },
      field('from', 'f.from', { type: 'datetime-local' }), field('to', 'f.to', { type: 'datetime-local' }),
      h('label', {}, h('span', { text: t('f.severity') }), sevSelect),
      field('site', 'f.site'), field('agent', 'f.agent'), field('q', 'f.signature', { list: 'sig-list' }),
      h('datalist', { id: 'sig-list' }),
      field('sid', 'f.sid', { inputmode: 'numeric' }), field('address', 'f.address'),
      h('label', {}, h('span', { text: t('f.status') }), statusSelect),
      h('button', { type: 'submit', text: t('f.apply') }),
      h('button', { type: 'button', class: 'link', text: t('f.clear'), onclick: () => { location.hash = '#/alerts'; } }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams();
      for (const [k, v] of new FormData(form).entries()) if (v) q.set(k, v);
      location.hash = '#/alerts' + (q.toString() ? '?' + q.toString() : '');
    });
    form.q.addEventListener('input', async () => {
      if (form.q.value.length < 2) return;
      try {
        const s = await api('signatures?q=' + encodeURIComponent(form.q.value));
        $('#sig-list').replaceChildren(...s.rows.map((r) => h('option', { value: r.signature })));
      } catch (e) { /* suggestions are optional */ }
    });

    const selCount = h('span', { class: 'muted', id: 'selected-count' });
    const reason = h('select', { id: 'close-reason' },
      ['false_positive', 'resolved', 'duplicate', 'benign'].map((r) => h('option', { value: r, text: t('reason.' + r) })));
    const assignee = h('input', { id: 'assignee', placeholder: t('tr.assignee') });
    const comment = h('input', { id: 'comment', placeholder: t('tr.comment_text') });
    async function triage(action) {
      if (!selected.size) return;
      try {
        await api('alerts/triage', { method: 'POST', body: {
          ids: [...selected], action, reason: reason.value, assignee: assignee.value, comment: comment.value } });
        toast(t('tr.done') + ': ' + selected.size);
        selected.clear();
        comment.value = '';
        load(cursor);
      } catch (e) { toast(e.message, true); }
    }
    const canTriage = session.role !== 'viewer';
    const bulk = h('div', { class: 'bulk' + (canTriage ? '' : ' hidden') },
      selCount,
      h('button', { type: 'button', id: 'bulk-ack', text: t('tr.ack'), onclick: () => triage('ack') }),
      assignee, h('button', { type: 'button', id: 'bulk-assign', text: t('tr.assign'), onclick: () => triage('assign') }),
      reason, h('button', { type: 'button', id: 'bulk-close', text: t('tr.close'), onclick: () => triage('close') }),
      comment, h('button', { type: 'button', id: 'bulk-comment', text: t('tr.comment'), onclick: () => triage('comment') }));

    function updateSelected() { selCount.textContent = selected.size + ' ' + t('tr.selected'); }
    function rowOf(a) {
      const box = h('input', { type: 'checkbox', class: 'pick', 'aria-label': a.id, disabled: !canTriage });
      box.checked = selected.has(a.id);
      box.addEventListener('change', () => { if (box.checked) selected.add(a.id); else selected.delete(a.id); updateSelected(); });
      return h('tr', { 'data-id': a.id, class: 'alert-row sev-row-' + a.severity },
        h('td', {}, box),
        h('td', { class: 'nowrap', text: fmtTime(a.time_ms) }),
        h('td', {}, sevBadge(a.severity)),
        h('td', { text: a.site }),
        h('td', { text: a.agent_name || a.agent }),
        h('td', {}, h('a', { href: '#/alerts/' + encodeURIComponent(a.id), class: 'sig', text: a.signature })),
        h('td', { class: 'mono', text: endpoint(a.src_ip, a.src_port) }),
        h('td', { class: 'mono', text: endpoint(a.dest_ip, a.dest_port) }),
        h('td', {}, statusBadge(a.status || 'new')),
        h('td', { text: a.assignee || '' }));
    }
    function query(c) {
      const q = new URLSearchParams();
      for (const [k, v] of filters.entries()) {
        if (!v) continue;
        if (k === 'from' || k === 'to') q.set(k, String(Date.parse(v + '+07:00')));
        else q.set(k, v);
      }
      q.set('limit', '50');
      if (c) q.set('cursor', c);
      return q.toString();
    }
    async function load(c) {
      cursor = c || '';
      const page = await api('alerts?' + query(cursor));
      tbody.replaceChildren(...page.rows.map(rowOf));
      pager.replaceChildren(
        h('button', { type: 'button', class: 'link', text: t('page.first'), disabled: !cursorStack.length,
          onclick: () => { cursorStack.length = 0; load(''); } }),
        h('button', { type: 'button', id: 'next-page', text: t('page.next'), disabled: !page.next_cursor,
          onclick: () => { cursorStack.push(cursor); load(page.next_cursor); } }));
      pendingNew = 0;
      banner.classList.add('hidden');
      updateSelected();
    }
    banner.addEventListener('click', () => { cursorStack.length = 0; load(''); });
    const all = h('input', { type: 'checkbox', 'aria-label': 'all', disabled: !canTriage });
    all.addEventListener('change', () => {
      tbody.querySelectorAll('input.pick').forEach((b) => { b.checked = all.checked; b.dispatchEvent(new Event('change')); });
    });
    main.append(h('h2', { text: t('alerts.title') }), form, bulk, banner,
      h('table', { class: 'grid alerts' },
        h('thead', {}, h('tr', {}, h('th', {}, all), ['col.time', 'col.severity', 'col.site', 'col.agent', 'col.signature',
          'col.src', 'col.dest', 'col.status', 'col.assignee'].map((k) => h('th', { text: t(k) })))), tbody), pager);
    await load('');
    // Live: new alerts matching no narrowing filter go on top of the first
    // page; otherwise a banner offers to reload.
    listeners.alert.push((msg) => {
      const a = msg.alert;
      const simple = [...filters.keys()].every((k) => !filters.get(k));
      if (simple && !cursorStack.length && !cursor) {
        a.status = 'new';
        tbody.prepend(rowOf(a));
        while (tbody.children.length > 50) tbody.lastChild.remove();
      } else {
        pendingNew += 1;
        banner.textContent = pendingNew + ' ' + t('page.new_alerts');
        banner.classList.remove('hidden');
      }
    });
  }

  function jsonBlock(obj) { return h('pre', { class: 'json', text: JSON.stringify(obj, null, 2) }); }

  async function alertDetail(main, id) {
    const d = await api('alerts/' + encodeURIComponent(id));
    const a = d.alert;
    const canTriage = session.role !== 'viewer';
    const comment = h('input', { id: 'detail-comment', placeholder: t('tr.comment_text') });
    const reason = h('select', {}, ['false_positive', 'resolved', 'duplicate', 'benign'].map((r) => h('option', { value: r, text: t('reason.' + r) })));
    async function act(action) {
      try {
        await api('alerts/triage', { method: 'POST', body: { ids: [a.id], action, reason: reason.value, comment: comment.value, assignee: session.user } });
        toast(t('tr.done'));
        route();
      } catch (e) { toast(e.message, true); }
    }
    const ctx = ['flow', 'dns', 'http', 'tls'].filter((k) => d.context[k] && d.context[k].length);
    main.append(
      h('p', {}, h('a', { href: '#/alerts', text: t('detail.back') })),
      h('h2', {}, sevBadge(a.severity), ' ', a.signature),
      h('div', { class: 'card kv' },
        [['col.time', fmtTime(a.time_ms)], ['col.site', a.site], ['col.agent', a.agent_name || a.agent],
          ['col.src', endpoint(a.src_ip, a.src_port)], ['col.dest', endpoint(a.dest_ip, a.dest_port)],
          ['SID', a.gid + ':' + a.sid + ':' + a.rev], ['col.status', t('st.' + d.triage.status) +
            (d.triage.reason ? ' (' + t('reason.' + d.triage.reason) + ')' : '')],
          ['col.assignee', d.triage.assignee || '']].map(([k, v]) => h('div', {}, h('span', { class: 'muted', text: t(k) }), h('span', { text: v })))),
      h('div', { class: 'bulk' + (canTriage ? '' : ' hidden') },
        h('button', { type: 'button', id: 'detail-ack', text: t('tr.ack'), onclick: () => act('ack') }),
        h('button', { type: 'button', text: t('tr.assign') + ' ' + session.user, onclick: () => act('assign') }),
        reason, h('button', { type: 'button', text: t('tr.close'), onclick: () => act('close') }),
        h('button', { type: 'button', text: t('tr.reopen'), onclick: () => act('reopen') }),
        comment, h('button', { type: 'button', text: t('tr.comment'), onclick: () => act('comment') })),
      h('div', { class: 'card' }, h('h3', { text: t('detail.comments') }),
        d.triage.comments.length ? h('ul', {}, d.triage.comments.map((c) => h('li', {},
          h('span', { class: 'muted', text: fmtIso(c.time) + ' ' + c.user + ': ' }), c.text))) : h('p', { class: 'muted', text: t('detail.none') })),
      h('div', { class: 'card' }, h('h3', { text: t('detail.context') }),
        ctx.length ? ctx.map((k) => h('div', {}, h('h4', { text: k.toUpperCase() }), d.context[k].map(jsonBlock)))
          : h('p', { class: 'muted', text: t('detail.none') })),
      h('div', { class: 'card' }, h('h3', { text: t('detail.eve') }), jsonBlock(d.eve)));
  }

  async function agents(main) {
    const d = await api('agents');
    main.append(h('h2', { text: t('agents.title') }),
      table(['col.name', 'col.site', 'col.version', 'col.state', 'col.last_seen', 'col.queue', 'col.drops', 'col.cpu'],
        d.rows.map((a) => h('tr', {},
          h('td', { title: a.id, text: a.name || a.id }), h('td', { text: a.site }), h('td', { class: 'mono', text: a.version }),
          h('td', {}, stateBadge(a.state)), h('td', { class: 'nowrap', text: fmtTime(a.last_seen_ms) }),
          h('td', { class: 'num', text: String(a.queue_depth) }), h('td', { class: 'num', text: String(a.capture_drops) }),
          h('td', { class: 'num', text: a.cpu_percent.toFixed(1) + '%' })))));
    listeners.link.push(() => route());
  }

  async function links(main) {
    const d = await api('sites');
    main.append(h('h2', { text: t('links.title') }));
    const grid = h('div', { class: 'links' });
    main.append(grid);
    for (const s of d.rows) {
      const canvas = h('canvas', {});
      grid.append(h('div', { class: 'card link-card', 'data-site': s.id },
        h('div', { class: 'link-head' }, h('strong', { text: s.id }), ' ', stateBadge(s.state),
          h('span', { class: 'muted', text: ' ' + (s.description || '') })),
        h('div', { class: 'muted', text: t('links.availability') + ': ' + (100 * s.availability_24h).toFixed(2) + '%  ·  ' +
          t('links.rtt') + ': ' + s.rtt_ms.toFixed(1) + ' ms  ·  ' + t('links.loss') + ': ' + (100 * s.loss).toFixed(1) }),
        h('div', { class: 'chart-box small' }, canvas)));
      const hist = await api('sites/' + encodeURIComponent(s.id) + '/history');
      const pts = hist.samples;
      if (!pts.length) {
        canvas.replaceWith(h('p', { class: 'muted', text: t('links.no_data') }));
        continue;
      }
      // SmokePing style: median RTT line over the min..max band, loss as bars.
      chart(canvas, {
        data: {
          labels: pts.map((p) => fmtHour(p.start_ms)),
          datasets: [
            { type: 'line', label: 'RTT max', data: pts.map((p) => p.rtt_ms_max), borderWidth: 0, pointRadius: 0,
              backgroundColor: 'rgba(30,136,229,0.18)', fill: '+1', yAxisID: 'y' },
            { type: 'line', label: t('links.latency'), data: pts.map((p) => p.rtt_ms_avg), borderColor: '#1e88e5',
              borderWidth: 1.5, pointRadius: 0, fill: false, yAxisID: 'y' },
            { type: 'bar', label: t('links.loss'), data: pts.map((p) => 100 * p.loss),
              backgroundColor: pts.map((p) => (p.loss > 0.1 ? '#b71c1c' : p.loss > 0 ? '#ef6c00' : '#43a047')), yAxisID: 'loss' },
          ],
        },
        options: {
          plugins: { legend: { display: false } },
          scales: {
            y: { beginAtZero: true, title: { display: true, text: 'ms' } },
            loss: { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: '%' } },
            x: { ticks: { maxTicksLimit: 12 } },
          },
        },
      });
    }
    listeners.link.push(() => route());
  }

  async function settings(main) {
    const n = await api('notify');
    main.append(h('h2', { text: t('settings.title') }),
      h('div', { class: 'card' }, h('h3', { text: t('settings.targets') }),
        table(['col.name', 'col.kind', 'col.pending', 'col.delivered', 'col.failures', 'col.last_error'], n.targets.map((x) => h('tr', {},
          h('td', { text: x.name }), h('td', { text: x.kind }), h('td', { class: 'num', text: String(x.pending + x.held_for_digest) }),
          h('td', { class: 'num', text: String(x.delivered) }), h('td', { class: 'num', text: String(x.failures) }),
          h('td', { class: 'error-text', text: x.last_error })))) ),
      h('div', { class: 'card' }, h('h3', { text: t('settings.routes') }),
        table(['col.name', 'col.match', 'col.targets'], n.routes.map((r) => h('tr', {},
          h('td', { text: r.name }),
          h('td', { text: [r.alerts ? '≤ ' + t('sev.' + r.max_severity) : '', r.links ? 'link ' + (r.link_states.join('/') || '*') : '',
            r.sites.length ? r.sites.join(', ') : t('all.sites'), r.signature_contains ? '"' + r.signature_contains + '"' : ''].filter(Boolean).join(' · ') }),
          h('td', { text: r.targets.join(', ') }))))),
      h('div', { class: 'card' }, h('h3', { text: t('settings.failures') }),
        table(['col.time', 'col.target', 'col.error'], n.failures.map((f) => h('tr', {},
          h('td', { class: 'nowrap', text: fmtIso(f.time) }), h('td', { text: f.target + ' #' + f.attempt }), h('td', { text: f.error }))))));
    if (session.role !== 'admin') return;
    const users = await api('users');
    const form = h('form', { class: 'filters', id: 'user-form' },
      h('input', { name: 'name', placeholder: t('col.name'), required: true }),
      h('select', { name: 'role' }, ['viewer', 'analyst', 'admin'].map((r) => h('option', { value: r, text: r }))),
      h('input', { name: 'sites', placeholder: t('users.sites_hint') }),
      h('input', { name: 'password', type: 'password', placeholder: t('users.password'), required: true, autocomplete: 'new-password' }),
      h('button', { type: 'submit', text: t('users.add') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await api('users', { method: 'POST', body: { name: form.name.value, role: form.role.value, password: form.password.value,
          sites: form.sites.value.split(',').map((s) => s.trim()).filter(Boolean) } });
        route();
      } catch (e) { toast(e.message, true); }
    });
    const audit = await api('audit');
    main.append(
      h('div', { class: 'card' }, h('h3', { text: t('settings.users') }), form,
        table(['col.name', 'col.role', 'col.sites', 'col.disabled', ''], users.rows.map((u) => h('tr', {},
          h('td', { text: u.name }), h('td', { text: u.role }), h('td', { text: u.sites.join(', ') || t('all.sites') }),
          h('td', { text: u.disabled ? t('yes') : t('no') }),
          h('td', {}, u.name === session.user ? '' : h('button', { type: 'button', class: 'link', text: u.disabled ? '✓' : '⊘',
            onclick: async () => { try { await api('users/' + u.name, { method: 'POST', body: { disabled: !u.disabled } }); route(); } catch (e) { toast(e.message, true); } } })))))),
      h('div', { class: 'card' }, h('h3', { text: t('settings.audit') }),
        table(['col.time', 'col.actor', 'col.action', 'col.target'], audit.rows.map((e) => h('tr', {},
          h('td', { class: 'nowrap', text: fmtIso(e.time) }), h('td', { text: e.actor }), h('td', { text: e.action }),
          h('td', { class: 'mono', text: e.target }))))));
  }

  async function route() {
    if (!session) return;
    const hash = location.hash.replace(/^#\//, '');
    const [path] = hash.split('?');
    const parts = path.split('/');
    const page = parts[0] || 'dashboard';
    document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.page === page));
    const main = clearPage();
    const holder = h('div', { id: 'page-' + page });
    main.append(holder);
    delete main.dataset.ready;
    try {
      if (page === 'alerts' && parts[1]) await alertDetail(holder, decodeURIComponent(parts.slice(1).join('/')));
      else if (page === 'alerts') await alerts(holder);
      else if (page === 'agents') await agents(holder);
      else if (page === 'links') await links(holder);
      else if (page === 'settings') await settings(holder);
      else await dashboard(holder);
      main.dataset.ready = page;
    } catch (e) {
      main.replaceChildren(h('p', { class: 'error', text: e.message }));
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    document.querySelectorAll('.lang-toggle').forEach((b) => b.addEventListener('click', switchLang));
    $('#login-form').addEventListener('submit', login);
    $('#logout').addEventListener('click', logout);
    window.addEventListener('hashchange', route);
    applyTexts();
    try {
      const s = await api('session');
      if (s.authenticated) { session = s; start(); } else showLogin();
    } catch (e) {
      showLogin();
    }
  });
})();
