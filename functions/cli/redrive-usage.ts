/** `outbound-pools redrive --help` (kept apart so the CLI's start does not load the SQS and Lambda clients). */
export const REDRIVE_USAGE = `Usage: outbound-pools redrive [--dry-run] [--max N] [--queue-url URL] [--function NAME]
         [--visibility-timeout SECONDS] [--pretty | --json]

Sends each dead letter of the router's dead-letter queue (DEAD_LETTER_QUEUE_URL or --queue-url;
the stack output RouterDeadLetterQueueUrl) back to the router (ROUTER_FUNCTION or --function;
the stack output RouterFunctionName), invoked synchronously with the SES event the record holds,
and deletes the record only once that invocation succeeded. A record whose redrive fails stays
in the queue (hidden while the run lasts, --visibility-timeout at most, default 960 s, and made
visible again when it ends) and is reported with the router's error; a record that is not a Lambda invocation record of an SES event is reported
as malformed and kept. --dry-run lists the dead letters (SES message id, sender, recipients,
error, attempts, age) without invoking the router or deleting anything. --max N stops after N
records. Progress on stderr; a table (or --json) on stdout.
A run that stops (network, access denied, Ctrl-C) makes the records it held visible again.
Exit 0 all redriven (or listed), 1 some failed or malformed, or access denied, 2 bad usage or
configuration, 75 network failure (the records not yet redriven are back in the queue; run it
again) or records in flight elsewhere (another redrive, an interrupted run: back within
--visibility-timeout), 130 Ctrl-C.`;
