/*
 * DOM helpers of the sandbox console. Everything a sender wrote (addresses, headers, bodies)
 * goes into the page as text (text nodes, textContent), never as HTML; the server's
 * Content-Security-Policy backs that up.
 *
 * Text is shown as the CLI prints it (functions/cli/terminal-safe.ts): control characters and
 * the bidirectional formatting characters become a visible `\uXXXX`, so that no override can
 * make one address read as another. Addresses are further isolated (`<bdi>`), so the
 * right-to-left letters of one cannot reorder its neighbours.
 */

/**
 * Characters shown as `\uXXXX`: the C0 controls but tab, line feed and carriage return, DEL, the
 * C1 controls and the bidirectional formatting characters. The same set as UNSAFE_CHAR of
 * functions/cli/terminal-safe.ts (a test checks they agree).
 */
export const UNSAFE_CHAR =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `value` as text, every {@link UNSAFE_CHAR} written `\uXXXX`. */
export function visibleText(value) {
  return String(value).replace(UNSAFE_CHAR, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Attributes a person reads (a tooltip, what a screen reader says): shown as text is. */
const READ_ATTRIBUTES = new Set(['title', 'aria-label']);

/** An element with attributes and children (strings become text nodes, never HTML; see visibleText). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else
      node.setAttribute(
        name,
        value === true ? '' : READ_ATTRIBUTES.has(name) ? visibleText(value) : String(value),
      );
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? visibleText(child) : child);
  }
  return node;
}

/** Text a sender wrote, isolated from what surrounds it (`<bdi>`). */
export const isolated = (value) => el('bdi', {}, value);

/** A list of addresses (or other values a sender wrote), each isolated, comma-separated. */
export function isolatedList(values) {
  return values.flatMap((v, i) => (i === 0 ? [isolated(String(v))] : [', ', isolated(String(v))]));
}

export async function getJson(url, init) {
  const response = await fetch(url, { cache: 'no-store', ...init });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

export const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});
export const minuteFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
export const time = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : timeFormat.format(d);
};
export const timeElement = (iso) => el('time', { datetime: iso, title: iso }, time(iso));

export function poolBadge(pool) {
  return pool
    ? el('span', { class: `badge pool-${pool}` }, pool)
    : el('span', { class: 'badge pool-undecided' }, 'undecided');
}

/** Any JSON value, readably: scalars as text, lists joined, objects as nested lists. */
export function valueNode(value) {
  if (value === null || value === undefined || value === '') return el('span', { class: 'subtle' }, '—');
  if (Array.isArray(value)) {
    if (value.length === 0) return el('span', { class: 'subtle' }, 'none');
    if (value.every((v) => v === null || typeof v !== 'object'))
      return el('span', {}, isolatedList(value.map((v) => (v === null ? '' : v))));
    return el(
      'ol',
      { class: 'plain' },
      value.map((v) => el('li', {}, valueNode(v))),
    );
  }
  if (typeof value === 'object') return facts(Object.entries(value));
  return isolated(String(value));
}

/** A definition list of [label, value] pairs. */
export function facts(pairs) {
  return el(
    'dl',
    { class: 'facts' },
    pairs.map(([label, value]) => [el('dt', {}, label), el('dd', {}, valueNode(value))]),
  );
}

export function fillBody(table, rows, emptyText, columns) {
  const body = table.tBodies[0];
  body.replaceChildren(
    ...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: columns, class: 'subtle' }, emptyText))]),
  );
}
