/**
 * Signature Version 4 computed here from a captured request (AWS General Reference, "Create a
 * signed AWS API request"), independently of `@smithy/signature-v4`: the oracle that the
 * signature a request carries is the right one for its method, path, signed headers and body.
 */
import { createHash, createHmac } from 'node:crypto';
import type { HttpRequest } from '@smithy/types';

/** The credentials the tests sign with. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'token' };

export interface SigV4Options {
  /**
   * Whether the canonical request encodes the path's segments once more (default: yes, as
   * every service but S3 asks). S3 signs the path as sent (SigV4, "Create a canonical
   * request": S3 does not normalize or double-encode).
   */
  uriEscapePath?: boolean;
}

/** RFC 3986 encoding: everything but the unreserved characters. */
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The canonical query string: names and values encoded, sorted by name (then value). */
function canonicalQuery(query: HttpRequest['query']): string {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value ?? '']) pairs.push([rfc3986(name), rfc3986(v)]);
  }
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** The `Authorization` header `r` should carry, signed with {@link TEST_CREDENTIALS}. */
export function expectedAuthorization(r: HttpRequest, options: SigV4Options = {}): string {
  const { accessKeyId, secretAccessKey } = TEST_CREDENTIALS;
  const auth = String(r.headers.authorization);
  const [, scope, signedHeaders] =
    new RegExp(`Credential=${accessKeyId}/([^,]+), SignedHeaders=([^,]+),`).exec(auth) ?? [];
  const [date, region, service] = String(scope).split('/');
  const body = r.body === undefined ? '' : r.body;
  const payload =
    r.headers['x-amz-content-sha256'] ??
    createHash('sha256')
      .update(body as string | Uint8Array)
      .digest('hex');
  const names = String(signedHeaders).split(';');
  const headerValue = (name: string) =>
    Object.entries(r.headers).find(([k]) => k.toLowerCase() === name)?.[1] ??
    (name === 'host' ? r.hostname : '');
  const canonical = [
    r.method,
    options.uriEscapePath === false
      ? r.path
      : r.path
          .split('/')
          .map((p) => encodeURIComponent(p))
          .join('/'),
    canonicalQuery(r.query),
    ...names.map((n) => `${n}:${String(headerValue(n)).trim()}`),
    '',
    signedHeaders,
    payload,
  ].join('\n');
  const toSign = [
    'AWS4-HMAC-SHA256',
    r.headers['x-amz-date'],
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  let key: Buffer | string = `AWS4${secretAccessKey}`;
  for (const part of [date, region, service, 'aws4_request'])
    key = createHmac('sha256', key).update(String(part)).digest();
  return `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${createHmac('sha256', key).update(toSign).digest('hex')}`;
}
