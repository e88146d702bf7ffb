/**
 * The SES identities the router sends as: the accepted domains (senders and the aliases
 * mail is re-sent from), the SRS domain (return paths) and the bounce sink's domain (NDRs).
 * Their ARNs scope the router's `ses:SendEmail` permission; the stack can also create them.
 */
import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { Config } from '../functions/core/config.js';
import { sendingDomains } from '../functions/core/sending-domains.js';

/** Properties of {@link SendingIdentities}. */
export interface SendingIdentitiesProps {
  /** The validated configuration. */
  readonly config: Config;
  /**
   * Create a domain identity (Easy DKIM) for every sending domain. Leave off when the domains
   * are already verified in the account (SES refuses a second identity of the same name);
   * when on, publish the DKIM CNAME records the stack outputs.
   *
   * @default false
   */
  readonly createIdentities?: boolean;
}

// One list for the stack's identities and the router's `Sender` rule (`compose/rewrite.ts`).
export { sendingDomains } from '../functions/core/sending-domains.js';

/** Sending domains and their identity ARNs (`arn:aws:ses:region:account:identity/<domain>`). */
export class SendingIdentities extends Construct {
  readonly domains: readonly string[];
  readonly identityArns: readonly string[];
  /** The identities the stack created (empty unless `createIdentities`). */
  readonly identities: readonly ses.EmailIdentity[];

  constructor(scope: Construct, id: string, props: SendingIdentitiesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.domains = sendingDomains(props.config);
    this.identityArns = this.domains.map((domain) =>
      stack.formatArn({ service: 'ses', resource: 'identity', resourceName: domain }),
    );
    this.identities = props.createIdentities
      ? this.domains.map((domain, i) => {
          const identity = new ses.EmailIdentity(this, `Identity${i}`, {
            identity: ses.Identity.domain(domain),
          });
          new CfnOutput(this, `DkimRecords${i}`, {
            description: `DKIM CNAME records to publish for ${domain}`,
            value: identity.dkimRecords.map((r) => `${r.name} CNAME ${r.value}`).join(' ; '),
          });
          return identity;
        })
      : [];
  }
}
