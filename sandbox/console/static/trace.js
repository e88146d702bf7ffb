/*
 * The message trace panel: the decision, the authentication facts, any field the page does
 * not know by name (shown generically, so facts a newer router records still show), and
 * every copy with its raw bytes as sent.
 */
import { el, facts, isolatedList, valueNode } from './dom.js';

/** Trace fields the page lays out itself; any other field is shown generically. */
const KNOWN_TRACE_FIELDS = new Set([
  'messageId',
  'receivedAt',
  'status',
  'sender',
  'recipients',
  'destinations',
  'unrouted',
  'pool',
  'outboundIpPoolName',
  'configurationSet',
  'reasons',
  'sizeBytes',
  'sends',
  'events',
  'authentication',
]);
const KNOWN_COPY_FIELDS = new Set([
  'index',
  'kind',
  'to',
  'pool',
  'configurationSet',
  'tenant',
  'envelopeFrom',
  'status',
  'sesMessageId',
  'at',
  'error',
  'events',
  'raw',
]);

function copySection(copy, n) {
  const extra = Object.entries(copy).filter(([k]) => !KNOWN_COPY_FIELDS.has(k));
  const pairs = [
    ['Destination', copy.to],
    ['Kind', copy.kind],
    ['Pool', copy.pool],
    ['Configuration set', copy.configurationSet],
    ['Envelope sender', copy.envelopeFrom],
    ['Status', copy.status],
    ['SES message id', copy.sesMessageId],
    ['Sent at', copy.at],
    ...(copy.tenant !== undefined ? [['Tenant', copy.tenant]] : []),
    ...(copy.error ? [['Error', copy.error]] : []),
    ...extra,
    ...(copy.events?.length ? [['Delivery events', copy.events]] : []),
  ];
  const raw = copy.raw
    ? [
        el(
          'h5',
          {},
          `Raw copy as sent: headers (${copy.raw.size} bytes in all${copy.raw.truncated ? ', shown cut' : ''})`,
        ),
        el(
          'pre',
          { class: 'raw headers', tabindex: '0', 'aria-label': `Headers of copy ${n}` },
          copy.raw.headers,
        ),
        el(
          'details',
          {},
          el('summary', {}, 'Body'),
          el('pre', { class: 'raw', tabindex: '0', 'aria-label': `Body of copy ${n}` }, copy.raw.body),
        ),
      ]
    : [el('p', { class: 'subtle' }, 'No raw copy recorded (not sent, or sent before the console started).')];
  return el(
    'article',
    { class: 'copy', 'data-copy-index': copy.index },
    el('h4', {}, `Copy ${n}: ${copy.kind} → `, isolatedList(Array.isArray(copy.to) ? copy.to : [copy.to])),
    facts(pairs),
    raw,
  );
}

/** The panel's content for one message as `GET /api/messages/{id}` answers it. */
export function traceParts(m) {
  const t = m.trace;
  const r = m.receipt;
  const parts = [];
  parts.push(el('h3', {}, 'Decision'));
  if (t) {
    parts.push(
      facts([
        ['Message id', t.messageId],
        ['Received', t.receivedAt],
        ['Status', t.status],
        ['Envelope sender', t.sender === '' ? '<>' : t.sender],
        ['Recipients', t.recipients],
        ['Destinations', t.destinations],
        ['Unrouted', t.unrouted],
        ['Pool', t.pool],
        ['IP pool', t.outboundIpPoolName],
        ['Configuration set', t.configurationSet],
        ['Reasons', t.reasons],
        ['Size (bytes)', t.sizeBytes],
      ]),
    );
  } else {
    parts.push(el('p', { class: 'error' }, `No trace record: ${r.outcome}${r.error ? ` (${r.error})` : ''}`));
  }
  parts.push(el('h3', {}, 'Authentication'));
  if (t && t.authentication !== undefined) {
    parts.push(el('h4', {}, 'As the router recorded them'), valueNode(t.authentication));
  }
  parts.push(
    el('h4', {}, 'SES receipt verdicts'),
    facts([
      ['Client IP', r.clientIp],
      ['HELO', r.helo],
      ...Object.entries(r.verdicts || {}),
      ['Attempts', r.attempts],
    ]),
  );
  const extra = t ? Object.entries(t).filter(([k]) => !KNOWN_TRACE_FIELDS.has(k)) : [];
  if (extra.length) parts.push(el('h3', {}, 'Other recorded facts'), facts(extra));
  parts.push(el('h3', {}, `Copies (${m.copies.length})`));
  if (m.copies.length === 0) parts.push(el('p', { class: 'subtle' }, 'Nothing was sent.'));
  m.copies.forEach((copy, i) => {
    parts.push(copySection(copy, i + 1));
  });
  if (t?.events.length) parts.push(el('h3', {}, 'Delivery events'), valueNode(t.events));
  return parts;
}
