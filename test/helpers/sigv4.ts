/**
 * Signature Version 4 computed here from a captured request (AWS General Reference, "Create a
 * signed AWS API request"), independently of `@smithy/signature-v4`: the oracle that the
 * signature a request carries is the right one for its method, path, signed headers and body.
 */
import { createHash, createHmac } from 'node:crypto';
import type { HttpRequest } from '@smithy/types';

/** The credentials the tests sign with. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'token' };

/** The `Authorization` header `r` should carry, signed with {@link TEST_CREDENTIALS}. */
export function expectedAuthorization(r: HttpRequest): string {
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
    r.path
      .split('/')
      .map((p) => encodeURIComponent(p))
      .join('/'),
    '',
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
