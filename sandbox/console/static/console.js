/*
 * The sandbox console's page script: plain DOM in ES modules, no framework, no build step.
 *
 * Live: server-sent events (/api/events) announce each processed message; the page then
 * reloads its figures. While the event stream is down it polls every 5 s instead.
 */
import {
  el,
  fillBody,
  getJson,
  isolated,
  isolatedList,
  minuteFormat,
  poolBadge,
  time,
  timeElement,
  visibleText,
} from './dom.js';
import { traceParts } from './trace.js';

const POOLS = ['normal', 'high-risk', 'relay', 'blocked'];
// Colours with at least 4.5:1 contrast on white, and a dash pattern each: a pool is told
// apart by more than its colour.
const POOL_STYLE = {
  normal: { stroke: '#1a7f37', dash: [] },
  'high-risk': { stroke: '#c2185b', dash: [8, 4] },
  relay: { stroke: '#8a5a00', dash: [2, 3] },
  blocked: { stroke: '#5b3cc4', dash: [10, 3, 2, 3] },
};

const $ = (id) => document.getElementById(id);
const state = {
  generation: 0,
  openId: null,
  live: false,
  pollTimer: null,
  refreshTimer: null,
  chart: null,
};

/** The connection line (not announced: it changes with every message). */
function setStatus(text) {
  $('status').textContent = visibleText(text);
}

/** Outcomes of what the operator did, announced to screen readers. */
function notify(text) {
  $('notice').textContent = visibleText(text);
}

// --- pools over time -----------------------------------------------------------------------

function renderChart(series) {
  const data = [series.minutes, ...POOLS.map((p) => series.counts[p])];
  const container = $('chart');
  const width = Math.max(320, container.clientWidth);
  if (!state.chart) {
    state.chart = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(2, max + 1)] } },
        axes: [
          {
            stroke: '#1f2328',
            grid: { stroke: '#d0d7de' },
            values: (_u, ticks) => ticks.map((t) => minuteFormat.format(new Date(t * 1000))),
          },
          {
            label: 'messages / minute',
            stroke: '#1f2328',
            grid: { stroke: '#d0d7de' },
            incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
            values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')),
          },
        ],
        series: [
          {
            label: 'minute',
            value: (_u, t) => (t == null ? '--' : minuteFormat.format(new Date(t * 1000))),
          },
          ...POOLS.map((p) => ({
            label: p,
            stroke: POOL_STYLE[p].stroke,
            dash: POOL_STYLE[p].dash,
            width: 2,
            points: { show: true, size: 6 },
          })),
        ],
      },
      data,
      container,
    );
    new ResizeObserver(() => {
      state.chart.setSize({ width: Math.max(320, container.clientWidth), height: 240 });
    }).observe(container);
  } else {
    state.chart.setData(data);
  }
  const rows = [];
  series.minutes.forEach((minute, i) => {
    const counts = POOLS.map((p) => series.counts[p][i]);
    if (counts.every((c) => c === 0)) return;
    rows.unshift(
      el(
        'tr',
        {},
        el('th', { scope: 'row' }, timeElement(new Date(minute * 1000).toISOString())),
        counts.map((c) => el('td', { class: 'num' }, c)),
      ),
    );
  });
  fillBody($('minutes-table'), rows, 'No messages in the last 30 minutes.', 5);
}

function renderOverview(o) {
  for (const p of POOLS) $(`total-${p}`).textContent = String(o.totals[p]);
  renderChart(o.series);
  fillBody(
    $('reasons'),
    o.reasons.map((r) =>
      el('tr', {}, el('td', {}, el('code', {}, r.reason)), el('td', { class: 'num' }, r.count)),
    ),
    'No reasons yet.',
    2,
  );
  fillBody(
    $('limit-hits'),
    o.limitHits.map((r) =>
      el('tr', {}, el('td', {}, el('code', {}, r.reason)), el('td', { class: 'num' }, r.count)),
    ),
    'No limit crossed.',
    2,
  );
  fillBody(
    $('restricted'),
    o.restricted.map((r) =>
      el(
        'tr',
        { 'data-identity': r.identity },
        el('td', { class: 'address' }, isolated(r.identity)),
        el('td', {}, el('code', {}, r.reason)),
        el(
          'td',
          {},
          'since ',
          timeElement(r.since),
          ', ',
          r.until ? ['until ', timeElement(r.until)] : 'until released',
        ),
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'release',
              'aria-label': `Release ${r.identity}`,
              onclick: (event) => release(r.identity, event.currentTarget),
            },
            'Release',
          ),
        ),
      ),
    ),
    'No sender is restricted.',
    4,
  );
  const select = $('filter-reason');
  const chosen = select.value;
  const known = new Set(o.reasons.map((r) => r.reason));
  if (chosen) known.add(chosen);
  select.replaceChildren(
    el('option', { value: '' }, 'any'),
    ...[...known].sort().map((r) => el('option', { value: r, selected: r === chosen }, r)),
  );
}

async function release(identity, button) {
  button.disabled = true;
  try {
    const result = await getJson('/api/restrictions/release', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity }),
    });
    notify(`Released ${result.identity}: its next message is decided afresh.`);
  } catch (error) {
    notify(`Could not release ${identity}: ${error.message}`);
    button.disabled = false;
  }
  await refresh();
}

// --- messages ------------------------------------------------------------------------------

function renderMessages(list) {
  $('message-count').textContent = `(${list.messages.length} of ${list.total} shown)`;
  fillBody(
    $('message-table'),
    list.messages.map((m) =>
      el(
        'tr',
        {
          'data-message-id': m.messageId,
          'data-pool': m.pool || 'undecided',
          class: m.messageId === state.openId ? 'open' : '',
        },
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              class: 'link',
              'aria-label': `Open the trace of message ${m.messageId} from ${m.sender || '<>'}`,
              'aria-controls': 'trace',
              onclick: () => openTrace(m.messageId),
            },
            time(m.receivedAt),
          ),
        ),
        el('td', { class: 'address' }, isolated(m.sender || '<>')),
        el('td', { class: 'address' }, isolatedList(m.recipients)),
        el('td', {}, poolBadge(m.pool)),
        el('td', {}, m.reasons.length ? m.reasons.map((r) => el('code', { class: 'reason' }, r)) : '—'),
        el('td', { class: 'num' }, m.copies),
      ),
    ),
    'No message matches.',
    6,
  );
}

async function openTrace(id) {
  state.openId = id;
  for (const tr of document.querySelectorAll('#message-table tr.open')) tr.classList.remove('open');
  for (const tr of document.querySelectorAll('#message-table tr[data-message-id]')) {
    if (tr.dataset.messageId === id) tr.classList.add('open');
  }
  const body = $('trace-body');
  body.replaceChildren(el('p', { class: 'hint' }, 'Loading…'));
  let m;
  try {
    m = await getJson(`/api/messages/${encodeURIComponent(id)}`);
  } catch (error) {
    body.replaceChildren(el('p', { class: 'error' }, `Could not load ${id}: ${error.message}`));
    return;
  }
  const parts = traceParts(m);
  body.replaceChildren(...parts);
  $('trace').dataset.messageId = id;
  $('trace-heading').textContent = visibleText(`Message trace: ${id}`);
  $('trace-heading').focus();
}

// --- refresh and live updates --------------------------------------------------------------

async function refresh() {
  const params = new URLSearchParams();
  const pool = $('filter-pool').value;
  const reason = $('filter-reason').value;
  if (pool) params.set('pool', pool);
  if (reason) params.set('reason', reason);
  // Refreshes overlap (a filter changed while a live update was loading): only the latest renders.
  const generation = ++state.generation;
  try {
    const [o, list] = await Promise.all([getJson('/api/overview'), getJson(`/api/messages?${params}`)]);
    if (generation !== state.generation) return;
    renderOverview(o);
    renderMessages(list);
    document.body.dataset.messages = String(o.messages);
    document.body.dataset.loaded = 'true';
    setStatus(
      `${state.live ? 'Live' : 'Polling every 5 s'} · ${o.messages} message(s) · updated ${time(o.at)}`,
    );
  } catch (error) {
    setStatus(`Could not refresh: ${error.message}`);
  }
}

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 250);
}

function connect() {
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    state.live = true;
    clearInterval(state.pollTimer);
    state.pollTimer = null;
    refresh();
  });
  source.addEventListener('message', scheduleRefresh);
  source.addEventListener('error', () => {
    state.live = false;
    if (!state.pollTimer) state.pollTimer = setInterval(refresh, 5000);
  });
}

$('filters').addEventListener('change', refresh);
$('filters').addEventListener('submit', (event) => event.preventDefault());
refresh();
connect();
