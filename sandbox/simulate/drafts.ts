/**
 * What each class sends (see the table in `classes.ts` and docs/simulate.md): one builder
 * per class, returning a message's envelope, headers and labels, but not its bytes or time
 * (`stream.ts` renders and times them). Every random choice is drawn from the stream's
 * generator, in stream order, so a seed gives the same drafts.
 */
import type { Config } from '../../functions/core/config.js';
import { Srs } from '../../functions/core/srs.js';
import type { ClassId } from './classes.js';
import type { Random } from './random.js';
import type { SimMessage } from './stream.js';
import {
  ACCEPTED_NET,
  ACTORS,
  routeDestinations,
  type SimActorPolicies,
  type SimRoute,
  type World,
} from './world.js';

export interface Draft extends Omit<SimMessage, 'seq' | 'at' | 'raw'> {
  from: string;
  subject: string;
  /** `report` = a multipart/report DSN (RFC 3464), else text/plain. */
  shape: 'text' | 'report';
  /** Domain to DKIM-sign as, if any. */
  sign?: string;
}

const NAMES = ['Alice', 'Bruno', 'Chen', 'Dana', 'Emeka', 'Farah', 'Goran', 'Hana', 'Ivo', 'Jun'];
const HOUR = 3_600_000;

/** A forged SRS address: right syntax and timestamp, a hash made without the secret. */
function forgedSrs(srs: Srs, config: Config, original: string, at: Date, rng: Random): string {
  for (;;) {
    const guess = new Srs({ ...config.srs, secrets: [`attacker-guess-${rng.word(12)}`] }).forward(
      original,
      at,
    );
    // The attacker may guess right (one in 64^hashLength): such an address is no forgery.
    if (!srs.reverse(guess, at).ok) return guess;
  }
}

export interface DraftContext {
  rng: Random;
  config: Config;
  world: World;
  policies: SimActorPolicies;
}

/** The builder of each class: `i` = the message's index within its class, `at` its time. */
export function draftBuilders(ctx: DraftContext): Record<ClassId, (i: number, at: () => Date) => Draft> {
  const { rng, config, world, policies } = ctx;
  const srs = new Srs(config.srs);
  const word = () => rng.word(4 + rng.int(5));
  const person = () => rng.pick(NAMES);
  const acceptedHost = () => `${ACCEPTED_NET}.${10 + rng.int(40)}`;
  const toRoute = (route: SimRoute) => {
    const rcpt = route.recipient(word);
    return { rcptTo: [rcpt], allowed: routeDestinations(config.routes, rcpt) };
  };
  const anyRoute = () => toRoute(rng.pick(world.routes));
  const a = ACTORS;
  const subject = () => `${person()}: ${word()} ${word()}`;

  return {
    'good-accepted': () => {
      const name = person();
      const domain = rng.pick(world.accepted);
      const sender = `${name.toLowerCase()}@${domain}`;
      return {
        class: 'good-accepted',
        nature: 'good',
        mailFrom: sender,
        ...anyRoute(),
        clientIp: acceptedHost(),
        helo: `mail.${domain}`,
        from: `${name} <${sender}>`,
        subject: subject(),
        shape: 'text',
        sign: domain,
        ndrTo: sender,
      };
    },
    'forwarded-spf': () => {
      const name = person();
      const sender = `${name.toLowerCase()}@${a.partnerSpf.domain}`;
      return {
        class: 'forwarded-spf',
        nature: 'good',
        mailFrom: sender,
        ...anyRoute(),
        clientIp: a.partnerSpf.ip,
        helo: a.partnerSpf.helo,
        from: `${name} <${sender}>`,
        subject: subject(),
        shape: 'text',
        ndrTo: sender,
      };
    },
    'forwarded-dkim': () => {
      const name = person();
      const sender = `${name.toLowerCase()}@${a.partnerDkim.domain}`;
      return {
        class: 'forwarded-dkim',
        nature: 'good',
        mailFrom: sender,
        ...anyRoute(),
        clientIp: a.partnerDkim.ip,
        helo: a.partnerDkim.helo,
        from: `${name} <${sender}>`,
        subject: subject(),
        shape: 'text',
        sign: a.partnerDkim.domain,
        ndrTo: sender,
      };
    },
    'forwarded-unauthenticated': () => {
      const sender = `${word()}@${a.unauth.domain}`;
      return {
        class: 'forwarded-unauthenticated',
        nature: 'bad',
        mailFrom: sender,
        ...anyRoute(),
        clientIp: a.unauth.ip,
        helo: a.unauth.helo,
        from: `Deals <${sender}>`,
        subject: subject(),
        shape: 'text',
        ndrTo: null,
      };
    },
    'compromised-burst': () => {
      const sender = policies.burst.identity;
      return {
        class: 'compromised-burst',
        nature: 'good',
        mailFrom: sender,
        ...toRoute(world.actorRoute),
        clientIp: `${ACCEPTED_NET}.20`,
        helo: `mail.${world.primary}`,
        from: `Sales <${sender}>`,
        subject: subject(),
        shape: 'text',
        sign: world.primary,
        ndrTo: sender,
      };
    },
    'spoof-own-domain-dkim': () => {
      // Claims a real user of an accepted domain in the envelope (SPF fails), signs as itself.
      const name = person();
      const claimed = `${name.toLowerCase()}@${rng.pick(world.accepted)}`;
      return {
        class: 'spoof-own-domain-dkim',
        nature: 'bad',
        mailFrom: claimed,
        ...anyRoute(),
        clientIp: a.attacker.ip,
        helo: a.attacker.helo,
        from: `"${name}" <${name.toLowerCase()}@${a.attacker.domain}>`,
        subject: subject(),
        shape: 'text',
        sign: a.attacker.domain,
        ndrTo: null,
      };
    },
    'spoof-accepted-from': () => {
      const name = person();
      const envelope = `bounces@${a.evil.domain}`;
      return {
        class: 'spoof-accepted-from',
        nature: 'bad',
        mailFrom: envelope,
        ...anyRoute(),
        clientIp: a.evil.ip,
        helo: a.evil.helo,
        from: `${name} <${name.toLowerCase()}@${rng.pick(world.accepted)}>`,
        subject: subject(),
        shape: 'text',
        ndrTo: envelope,
      };
    },
    'spoof-dmarc-fail': () => {
      const envelope = `news-${word()}@${a.evil.domain}`;
      return {
        class: 'spoof-dmarc-fail',
        nature: 'bad',
        mailFrom: envelope,
        ...anyRoute(),
        clientIp: a.evil.ip,
        helo: a.evil.helo,
        from: `Bank Security <service@${a.bank.domain}>`,
        subject: 'Verify your account',
        shape: 'text',
        ndrTo: envelope,
      };
    },
    'subaddress-restricted': (i) => {
      const base = policies.newsletter.identity;
      const at = base.lastIndexOf('@');
      const sender = i < 2 ? base : `${base.slice(0, at)}+${word()}${base.slice(at)}`;
      return {
        class: 'subaddress-restricted',
        nature: 'good',
        mailFrom: sender,
        ...toRoute(world.actorRoute),
        clientIp: `${ACCEPTED_NET}.21`,
        helo: `mail.${world.primary}`,
        from: `Newsletter <${sender}>`,
        subject: subject(),
        shape: 'text',
        sign: world.primary,
        ndrTo: sender,
      };
    },
    'bounce-srs-valid': (_i, at) => {
      const original = `${person().toLowerCase()}@${a.partnerSpf.domain}`;
      const rcpt = srs.forward(original, new Date(at().getTime() - HOUR));
      return {
        class: 'bounce-srs-valid',
        nature: 'bad',
        mailFrom: '',
        rcptTo: [rcpt],
        allowed: [original],
        clientIp: a.bouncer.ip,
        helo: a.bouncer.helo,
        from: `Mail Delivery System <MAILER-DAEMON@${a.bouncer.domain}>`,
        subject: 'Undelivered Mail Returned to Sender',
        shape: 'report',
        ndrTo: null,
      };
    },
    'bounce-srs-forged': (_i, at) => {
      const rcpt = forgedSrs(
        srs,
        config,
        `${word()}@${rng.pick(['gmail.test', 'victim.test', a.partnerSpf.domain])}`,
        at(),
        rng,
      );
      return {
        class: 'bounce-srs-forged',
        nature: 'bad',
        mailFrom: '',
        rcptTo: [rcpt],
        allowed: [],
        clientIp: a.bouncer.ip,
        helo: a.bouncer.helo,
        from: `Mail Delivery System <MAILER-DAEMON@${a.bouncer.domain}>`,
        subject: 'Undelivered Mail Returned to Sender',
        shape: 'report',
        ndrTo: null,
      };
    },
    'bounce-ndr-shaped': (i, at) => {
      // Half to an alias, half to a valid SRS address: a non-null sender is no bounce, so
      // neither is reversed (SPEC 2a) and no NDR answers it.
      const target =
        i % 2 === 0
          ? anyRoute()
          : {
              rcptTo: [srs.forward(`${word()}@${a.partnerSpf.domain}`, new Date(at().getTime() - HOUR))],
              allowed: [],
            };
      const envelope = `postmaster@${a.evil.domain}`;
      return {
        class: 'bounce-ndr-shaped',
        nature: 'bad',
        mailFrom: envelope,
        ...target,
        clientIp: a.evil.ip,
        helo: a.evil.helo,
        from: `Mail Delivery System <${envelope}>`,
        subject: 'Delivery Status Notification (Failure)',
        shape: 'report',
        ndrTo: null,
      };
    },
    'no-a-mx': () => {
      const name = person();
      const sender = `${name.toLowerCase()}@${a.ghost.domain}`;
      return {
        class: 'no-a-mx',
        nature: 'bad',
        mailFrom: sender,
        ...anyRoute(),
        clientIp: a.ghost.ip,
        helo: a.ghost.helo,
        from: `${name} <${sender}>`,
        subject: subject(),
        shape: 'text',
        sign: a.ghost.domain,
        ndrTo: sender,
      };
    },
    'alert-only': () => {
      const sender = policies.alerts.identity;
      return {
        class: 'alert-only',
        nature: 'good',
        mailFrom: sender,
        ...toRoute(world.actorRoute),
        clientIp: `${ACCEPTED_NET}.22`,
        helo: `mail.${world.primary}`,
        from: `Reports <${sender}>`,
        subject: subject(),
        shape: 'text',
        sign: world.primary,
        ndrTo: sender,
      };
    },
  };
}
