/**
 * `outbound-pools srs forward|reverse ADDRESS`: the SRS rewriting the pipeline applies, for
 * operators checking a return path or a bounce by hand.
 */
import { parseArgs } from 'node:util';
import { InvalidInputError } from '../core/errors.js';
import { Srs } from '../core/srs.js';
import { loadConfig, parseNow } from './io.js';

export const SRS_USAGE = `Usage: outbound-pools srs forward ADDRESS [--config CONFIG.json] [--now ISO-8601] [--json]
       outbound-pools srs reverse ADDRESS [--config CONFIG.json] [--now ISO-8601] [--json]

forward  rewrites a sender address into an SRS0/SRS1 address of the configured SRS domain
reverse  decodes an SRS address; exits 1 when it is forged, expired or malformed`;

/** Returns the exit code: 0, or 1 when `reverse` finds the address invalid. */
export async function srsCommand(argv: string[], out: NodeJS.WriteStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, now: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [verb, address, ...extra] = positionals;
  if ((verb !== 'forward' && verb !== 'reverse') || !address || extra.length > 0) {
    throw new InvalidInputError('srs', `expected "forward ADDRESS" or "reverse ADDRESS"\n\n${SRS_USAGE}`);
  }
  const now = parseNow(values.now);
  const config = await loadConfig(values.config);
  const srs = new Srs(config.srs);
  const json = values.json || out.isTTY !== true;
  if (verb === 'forward') {
    const rewritten = srs.forward(address, now);
    out.write(json ? `${JSON.stringify({ address: rewritten })}\n` : `${rewritten}\n`);
    return 0;
  }
  const result = srs.reverse(address, now);
  if (json) {
    out.write(`${JSON.stringify(result.ok ? { ok: true, address: result.address } : result)}\n`);
  } else {
    out.write(result.ok ? `${result.address}\n` : `invalid SRS address (${result.reason})\n`);
  }
  return result.ok ? 0 : 1;
}
