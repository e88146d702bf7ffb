/**
 * SES inbound's verdicts, played locally.
 *
 * SES documents PASS, FAIL, GRAY and PROCESSING_FAILED for each verdict ("Contents of
 * notifications for Amazon SES email receiving", receipt object). The sandbox computes SPF,
 * DKIM, DMARC (and ARC, which SES does not report) with `mailauth` `authenticate()` through the
 * injected resolver, and maps them like this:
 *
 * | verdict | PASS                      | FAIL                                    | GRAY                                   | PROCESSING_FAILED        |
 * | ------- | ------------------------- | --------------------------------------- | -------------------------------------- | ------------------------ |
 * | SPF     | `pass`                    | `fail`, `softfail` (not authorized)     | `none`, `neutral` (no policy asserted) | `temperror`, `permerror` |
 * | DKIM    | a signature passes        | signatures, none passes (fail, neutral, policy, permerror) | no signature       | none passes, one `temperror` |
 * | DMARC   | `pass`                    | `fail` (+ `dmarcPolicy`: the effective policy) | `none` (no record), or no single author domain | `temperror`    |
 * | spam    | scanner says PASS (default: no GTUBE string) | scanner says FAIL (GTUBE found) | scanner's choice              | the scanner threw        |
 * | virus   | scanner says PASS (default: no EICAR string) | scanner says FAIL (EICAR found) | scanner's choice              | the scanner threw        |
 *
 * `dmarcPolicy` is set only when DMARC failed, as SES does. Scanners are pluggable functions;
 * the defaults look for the GTUBE and EICAR test strings in the raw message and in every
 * base64 block of it (so an attached EICAR file is found too).
 *
 */
import { authenticate } from 'mailauth';
import type { Resolver } from '../../functions/core/dns/resolver.js';
import { mapSpfResult } from '../../functions/core/gateways.js';
import type { VerdictStatus } from '../../functions/core/ses-event.js';

/** The GTUBE test string (SpamAssassin): a message containing it is spam for every filter. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
/**
 * The EICAR anti-virus test string. Built from two halves so this source file is not itself
 * flagged by a virus scanner on a developer's machine.
 */
export const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-', 'STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

export interface ScanInput {
  /** The message as the client sent it. */
  raw: Buffer;
  /** Envelope sender, `''` for the null reverse path. */
  mailFrom: string;
  rcptTo: string[];
  clientIp: string;
  helo: string;
}

/** A spam or virus scanner: its verdict, in SES's words. A throw is PROCESSING_FAILED. */
export type Scanner = (input: ScanInput) => VerdictStatus | Promise<VerdictStatus>;

/**
 * Whether `needle` occurs in the raw message or in a decoded base64 block of it (a run of
 * base64 lines, as MIME writes attachments). Enough for the test strings; not a MIME parser.
 */
export function containsTestString(raw: Buffer, needle: string): boolean {
  const text = raw.toString('latin1');
  if (text.includes(needle)) return true;
  const block: string[] = [];
  const check = () => {
    if (block.length === 0) return false;
    const decoded = Buffer.from(block.join(''), 'base64').toString('latin1');
    block.length = 0;
    return decoded.includes(needle);
  };
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t.length >= 4 && /^[A-Za-z0-9+/]+={0,2}$/.test(t)) {
      block.push(t);
      if (t.endsWith('=') && check()) return true;
    } else if (check()) {
      return true;
    }
  }
  return check();
}

/** The default spam scanner: FAIL for the GTUBE string, else PASS. */
export const gtubeScanner: Scanner = ({ raw }) => (containsTestString(raw, GTUBE) ? 'FAIL' : 'PASS');
/** The default virus scanner: FAIL for the EICAR string, else PASS. */
export const eicarScanner: Scanner = ({ raw }) => (containsTestString(raw, EICAR) ? 'FAIL' : 'PASS');

// --- verdict mapping (see the table above) -------------------------------------------------

/** mailauth's SPF result → SES `spfVerdict` (as enhanced filtering maps it; temperror → PROCESSING_FAILED). */
export function spfVerdict(result: string | undefined): VerdictStatus {
  return mapSpfResult(result ?? '') ?? 'PROCESSING_FAILED';
}

/** mailauth's DKIM results (one per signature, or one `none` row) → SES `dkimVerdict`. */
export function dkimVerdict(results: readonly { status?: { result?: string } }[]): VerdictStatus {
  const outcomes = results.map((r) => r.status?.result ?? 'none').filter((r) => r !== 'none');
  if (outcomes.length === 0) return 'GRAY';
  if (outcomes.includes('pass')) return 'PASS';
  if (outcomes.includes('temperror')) return 'PROCESSING_FAILED';
  return 'FAIL';
}

/** mailauth's DMARC result → SES `dmarcVerdict` and, when it failed, `dmarcPolicy`. */
export function dmarcVerdict(dmarc: { status?: { result?: string }; policy?: string } | false | undefined): {
  status: VerdictStatus;
  policy?: string;
} {
  if (!dmarc) return { status: 'GRAY' };
  switch (dmarc.status?.result) {
    case 'pass':
      return { status: 'PASS' };
    case 'fail':
      return { status: 'FAIL', policy: (dmarc.policy || 'none').toLowerCase() };
    case 'none':
      return { status: 'GRAY' };
    default:
      return { status: 'PROCESSING_FAILED' };
  }
}

export interface Verdicts {
  spam: VerdictStatus;
  virus: VerdictStatus;
  spf: VerdictStatus;
  dkim: VerdictStatus;
  dmarc: VerdictStatus;
  /** Only when DMARC failed: `none`, `quarantine` or `reject`. */
  dmarcPolicy?: string;
  /** ARC chain result (mailauth); SES does not report one, the sandbox logs it. */
  arc: string;
}

/** A scanner that throws is a check SES could not run. */
async function scan(scanner: Scanner, input: ScanInput): Promise<VerdictStatus> {
  try {
    return await scanner(input);
  } catch {
    return 'PROCESSING_FAILED';
  }
}

/**
 * The verdicts SES would report for a received message, and mailauth's `Received-SPF` and
 * `Authentication-Results` fields for the stored copy.
 */
export async function computeVerdicts(
  raw: Buffer,
  input: ScanInput,
  o: { spamScanner: Scanner; virusScanner: Scanner; resolver: Resolver; hostname: string },
): Promise<{ verdicts: Verdicts; authHeaders: string }> {
  const [spam, virus] = await Promise.all([scan(o.spamScanner, input), scan(o.virusScanner, input)]);
  try {
    const auth = await authenticate(raw, {
      ip: input.clientIp,
      helo: input.helo,
      sender: input.mailFrom,
      mta: o.hostname,
      resolver: o.resolver,
      disableBimi: true,
      trustReceived: false,
    });
    const dmarc = dmarcVerdict(auth.dmarc);
    const verdicts: Verdicts = {
      spam,
      virus,
      spf: spfVerdict(auth.spf ? auth.spf.status.result : undefined),
      dkim: dkimVerdict(auth.dkim.results ?? []),
      dmarc: dmarc.status,
      ...(dmarc.policy ? { dmarcPolicy: dmarc.policy } : {}),
      arc: auth.arc ? String(auth.arc.status.result) : 'none',
    };
    return { verdicts, authHeaders: auth.headers };
  } catch {
    // SES reports a check it could not run as PROCESSING_FAILED, and so does the sandbox.
    const failed: VerdictStatus = 'PROCESSING_FAILED';
    return {
      verdicts: { spam, virus, spf: failed, dkim: failed, dmarc: failed, arc: 'none' },
      authHeaders: '',
    };
  }
}
