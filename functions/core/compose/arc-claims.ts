/**
 * Whether an ARC set that arrived with a message speaks in our name. Each set's
 * ARC-Authentication-Results names the ADMD that wrote it (its authserv-id, RFC 8617 4.1.1);
 * a sender can seal its own message with its own key and write *our* authserv-id there
 * ("fwd.example.com; spf=pass; dmarc=pass header.from=bank.example"). The chain validates —
 * the seal is the sender's own, and valid — so our seal would vouch for it with `cv=pass`,
 * and the copy would carry, inside a chain we passed, results "from us" we never wrote
 * (review J). RFC 8601 5 has an ADMD remove Authentication-Results claiming its id; an ARC
 * set cannot be removed without breaking the chain, so the chain is taken as failed instead.
 * A set that claims our id and is sealed with our own key and selector is ours (a copy of
 * ours that came back) and claims rightly.
 */
import { authservIdOf, dkimTags } from './field-rules.js';
import { fieldValue, headerFields } from './header-fields.js';

/** The instance tag (`i=N;`) of an ARC field's value, and the rest of it. */
function instanceOf(value: string): { i: string; rest: string } | undefined {
  const m = /^\s*i\s*=\s*(\d+)\s*;([\s\S]*)$/.exec(value);
  return m ? { i: m[1]!, rest: m[2]! } : undefined;
}

/** True when an ARC set of `header` claims `authservId` and is not sealed by `own`. */
export function foreignSetClaimsOurId(
  header: Buffer,
  authservId: string,
  own: { domain: string; selector: string },
): boolean {
  const id = authservId.toLowerCase();
  const claims: string[] = [];
  const sealers = new Map<string, string>();
  for (const field of headerFields(header)) {
    if (field.name !== 'arc-authentication-results' && field.name !== 'arc-seal') continue;
    const value = instanceOf(fieldValue(field));
    if (!value) continue;
    if (field.name === 'arc-seal') {
      const { domain, selector } = dkimTags(value.rest);
      sealers.set(value.i, `${domain}/${selector}`);
    } else if (authservIdOf(value.rest) === id) {
      claims.push(value.i);
    }
  }
  const ours = `${own.domain}/${own.selector}`.toLowerCase();
  return claims.some((i) => sealers.get(i) !== ours);
}
