/**
 * The ARC key the sandbox's router seals with: the configured key file, or else (no key
 * configured, or one in SSM, which the sandbox has no emulator for) an ephemeral key, so
 * copies are sealed as in production.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../functions/core/config.js';

/** Selector of the ephemeral ARC key (published at `<selector>._domainkey.<srs domain>`). */
export const SANDBOX_ARC_SELECTOR = 'sandbox';

export interface SandboxArc {
  domain: string;
  selector: string;
  ephemeral: boolean;
  /** The DNS TXT record of an ephemeral key. */
  record?: string;
}

/**
 * The key to seal with. For an ephemeral key (written to `scratch`), also the `arc` section
 * the router's configuration must carry in place of the configured one.
 */
export async function sandboxArc(
  config: Config,
  scratch: string,
): Promise<{ arc: SandboxArc; routerArc?: Record<string, unknown> }> {
  if (config.arc && 'file' in config.arc.privateKey) {
    return { arc: { domain: config.arc.domain, selector: config.arc.selector, ephemeral: false } };
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(scratch, 'arc-ephemeral.pem');
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const arc: SandboxArc = {
    domain: config.arc?.domain ?? config.srs.domain,
    selector: config.arc?.selector ?? SANDBOX_ARC_SELECTOR,
    ephemeral: true,
    record,
  };
  const routerArc = {
    ...(config.arc?.authservId ? { authservId: config.arc.authservId } : {}),
    domain: arc.domain,
    selector: arc.selector,
    privateKey: { file: keyFile },
  };
  return { arc, routerArc };
}
