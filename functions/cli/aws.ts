/**
 * The plumbing the DynamoDB commands share (`trace`, `restrictions`, `limits`): table names
 * from a flag or the environment, a client from the standard SDK configuration (so the same
 * commands work against AWS and against the sandbox), errors that say what to do, and
 * progress on a terminal.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLimitsStore } from '../adapters/dynamo-limits-store.js';
import {
  ConfigError,
  InvalidInputError,
  OutboundPoolsError,
  TransientDependencyError,
} from '../core/errors.js';
import { awsEndpoint, cliEnv, noteSource, sdkClientConfig } from './io.js';

/** The table named by `--flag` or the environment variable, else a clear error. */
function tableName(value: string | undefined, envName: string, flag: string): string {
  const name = value ?? cliEnv()[envName];
  if (name === undefined || name.trim() === '') {
    throw new InvalidInputError(flag, `no table name: set ${envName} or pass ${flag}`);
  }
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(name)) {
    throw new InvalidInputError(flag, `not a DynamoDB table name: ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * A DynamoDB document client from the standard SDK configuration: `AWS_REGION`,
 * `AWS_PROFILE` or `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL_DYNAMODB`
 * (the sandbox prints all of them).
 */
export function documentClientFromEnv(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(sdkClientConfig('dynamodb')), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

function where(): string {
  const env = cliEnv();
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL;
  return [region ? `region ${region}` : 'the default region', endpoint ? `endpoint ${endpoint}` : '']
    .filter(Boolean)
    .join(', ');
}

/**
 * Runs DynamoDB calls on `table`, turning the SDK's errors into ones that say what to do:
 * no credentials, no region, unknown table (exit 2), access denied (exit 1), unreachable
 * endpoint (exit 75, retryable).
 */
async function withTable<T>(table: string, flag: string, envName: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TransientDependencyError) {
      const cause = (error.cause as { code?: string; name?: string } | undefined) ?? {};
      if (
        cause.code === 'ECONNREFUSED' ||
        cause.name === 'ECONNREFUSED' ||
        /ECONNREFUSED/.test(error.message)
      ) {
        throw new TransientDependencyError(
          'dynamodb',
          `cannot reach DynamoDB (${where()}): connection refused — is the sandbox running, and AWS_ENDPOINT_URL_DYNAMODB its endpoint?`,
          { cause: error },
        );
      }
      throw error;
    }
    const name = (error as { name?: string } | null)?.name ?? '';
    if (name === 'ResourceNotFoundException') {
      throw new ConfigError(
        `table "${table}" not found (${where()}): pass ${flag} or set ${envName} to the stack's table name, and check AWS_REGION`,
        { cause: error },
      );
    }
    throw awsSetupError(error, `table "${table}"`) ?? error;
  }
}

/**
 * The SDK errors every command says the same way (`withTable`, `pools`, `redrive`): no
 * credentials, no region, credentials AWS rejects (ConfigError, exit 2), access denied (one
 * line, exit 1). `what` names what was being read or changed. Undefined for anything else.
 */
export function awsSetupError(error: unknown, what: string): OutboundPoolsError | undefined {
  const e = error as { name?: string; message?: string } | null;
  const name = e?.name ?? '';
  const message = e?.message ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new ConfigError(
      'no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for the sandbox, run the export line it prints)',
      { cause: error },
    );
  }
  if (/Region is missing/i.test(message)) {
    return new ConfigError('no AWS region: set AWS_REGION (for the sandbox, run the export line it prints)', {
      cause: error,
    });
  }
  if (
    [
      'UnrecognizedClientException',
      'InvalidSignatureException',
      'ExpiredTokenException',
      'InvalidClientTokenId',
      'SignatureDoesNotMatch',
    ].includes(name)
  ) {
    return new ConfigError(`AWS rejected the credentials (${name}): refresh them or check AWS_PROFILE`, {
      cause: error,
    });
  }
  if (/^AccessDenied/.test(name)) {
    return new OutboundPoolsError(`access denied to ${what}: ${oneLine(message)}`, { cause: error });
  }
  return undefined;
}

/** The first line of an SDK message, bounded. */
function oneLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 300);
}

/** A spinner on stderr while `fn` runs, only when stderr is a terminal. */
export async function withProgress<T>(text: string, fn: () => Promise<T>, err = process.stderr): Promise<T> {
  if (err.isTTY !== true) return fn();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const timer = setInterval(() => err.write(`\r${frames[i++ % frames.length]} ${text}`), 80);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    err.write(`\r${' '.repeat(text.length + 2)}\r`);
  }
}

/** A table a command reads, named by its flag or its environment variable. */
export interface CliTable {
  readonly name: string;
  /** Runs DynamoDB calls on the table, their errors turned into ones that say what to do. */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** The table of `flag` (`value`), else of `envName`; a clear error when neither names one. */
export function cliTable(value: string | undefined, envName: string, flag: string): CliTable {
  const name = tableName(value, envName, flag);
  noteSource(
    `table ${name} (from ${value !== undefined ? flag : envName}), DynamoDB at ${awsEndpoint('dynamodb')}`,
  );
  return { name, run: (fn) => withTable(name, flag, envName, fn) };
}

/**
 * The limits table of `--limits-table` or LIMITS_TABLE (`limits`, `restrictions`), read
 * without the router's restriction cache: an operator sees the table as it is.
 */
export function cliLimitsStore(value: string | undefined): { table: CliTable; store: DynamoLimitsStore } {
  const table = cliTable(value, 'LIMITS_TABLE', '--limits-table');
  const store = new DynamoLimitsStore({
    client: documentClientFromEnv(),
    tableName: table.name,
    restrictionCacheMs: 0,
  });
  return { table, store };
}
