/**
 * The sandbox's ready banner: where everything listens, the `export` line a shell (or the
 * operator CLI) needs to reach it, and a first message to try. Text for a person, or one JSON
 * line (`--json`).
 */
import type { painter } from '../functions/cli/io.js';
import type { Sandbox } from './server.js';

/** `export A=1 B=2` for a POSIX shell (values quoted only when they need it). */
export function exportLine(env: Record<string, string>): string {
  const q = (v: string) => (/^[A-Za-z0-9_./:@=+-]*$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  return `export ${Object.entries(env)
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(' ')}`;
}

/** What the banner shows of a sandbox that is up. */
export type ReadySandbox = Pick<
  Sandbox,
  'smtp' | 'endpoints' | 'env' | 'config' | 'configPath' | 'tables' | 'bucket' | 'prefix' | 'arc' | 'dns'
>;

/** The ready line(s): text, or one JSON line when `json`. */
export function readyText(
  s: ReadySandbox,
  statePath: string | undefined,
  json: boolean,
  paint: ReturnType<typeof painter>,
): string {
  const { endpoints, env, configPath, dns, arc } = s;
  const state = statePath ? `kept in ${statePath}` : 'in memory (gone when the sandbox stops)';
  const arcText = `${arc.selector}._domainkey.${arc.domain}${arc.ephemeral ? ' (ephemeral key)' : ''}`;
  return json
    ? JSON.stringify({
        event: 'ready',
        smtp: { host: s.smtp.host, port: s.smtp.port },
        endpoints,
        tables: { ...s.tables },
        bucket: s.bucket,
        prefix: s.prefix,
        config: configPath,
        dns,
        arc: arcText,
        state,
        env,
      })
    : [
        `${paint('bold', 'outbound-pools sandbox ready')}: console ${endpoints.console} · SMTP ${endpoints.smtp} · SES ${endpoints.ses} · DynamoDB ${endpoints.dynamodb} · S3 ${endpoints.s3} · trace API ${endpoints.traceApi}/messages`,
        exportLine(env),
        paint(
          'dim',
          `config ${configPath} · DNS: ${dns} · ARC: ${arcText} · tables ${s.tables.limits}, ${s.tables.trace} · bucket ${s.bucket}/${s.prefix} · state ${state}`,
        ),
        paint(
          'dim',
          `try: swaks --server ${endpoints.smtp} --xclient-addr 192.0.2.10 --helo mx.sender.test --from alice@sender.test --to ${Object.keys(s.config.routes).find((r) => !r.startsWith('@')) ?? 'alias@example.com'}   ·   Ctrl-C stops the sandbox`,
        ),
      ].join('\n');
}
