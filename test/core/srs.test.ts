import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidInputError } from '../../functions/core/errors.js';
import { Srs, type SrsOptions } from '../../functions/core/srs.js';

/**
 * Known vectors were produced by the real postsrsd 1.10 (Debian package) with the secrets file
 * `secret-one` and `-dsrs.example.net`, on 2026-11-23 (day 20780, 20780 mod 1024 = 300 = `JM`).
 */
const DAY = new Date('2026-11-23T10:39:04Z');
const DAY_MS = 86_400_000;
const DOMAIN = 'srs.example.net';

function srs(options: Partial<SrsOptions> = {}): Srs {
  return new Srs({ domain: DOMAIN, secrets: ['secret-one'], ...options });
}

function daysAfter(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

describe('Srs.forward: postsrsd 1.10 vectors', () => {
  const vectors: [string, string][] = [
    ['user@example.com', 'SRS0=Onab=JM=example.com=user@srs.example.net'],
    // Case is kept in the address; the hash is over the lower-cased data, so it is the same.
    ['User@Example.COM', 'SRS0=Onab=JM=Example.COM=User@srs.example.net'],
    ['a=b+c-d.e@example.com', 'SRS0=aMvV=JM=example.com=a=b+c-d.e@srs.example.net'],
    ['x y@example.com', 'SRS0=TNoD=JM=example.com=x y@srs.example.net'],
    // Non-ASCII is hashed as UTF-8 bytes and never case-folded.
    ['jösé@exämple.com', 'SRS0=+HGp=JM=exämple.com=jösé@srs.example.net'],
    // SRS0 from another forwarder -> SRS1; the opaque part keeps its separator ("==").
    ['SRS0=abcd=AB=foo.com=bar@other.org', 'SRS1=mjrs=other.org==abcd=AB=foo.com=bar@srs.example.net'],
    // SRS1 from another forwarder -> re-signed SRS1 with the same first hop.
    ['SRS1=abcd=foo.com==xyz=AB=a.com=b@other.org', 'SRS1=O6aH=foo.com==xyz=AB=a.com=b@srs.example.net'],
    // Like libsrs2, a local part starting with "srs0-" (any case) is taken for SRS0.
    ['srs0-fan@example.com', 'SRS1=6kGH=example.com=-fan@srs.example.net'],
  ];
  for (const [input, expected] of vectors) {
    it(`${input} -> ${expected}`, () => {
      assert.equal(srs().forward(input, DAY), expected);
    });
  }

  it('uses the configured separator after the tag only', () => {
    assert.equal(
      srs({ separator: '-' }).forward('user@example.com', DAY),
      'SRS0-Onab=JM=example.com=user@srs.example.net',
    );
    assert.equal(
      srs({ separator: '+' }).forward('user@example.com', DAY),
      'SRS0+Onab=JM=example.com=user@srs.example.net',
    );
    assert.equal(
      srs({ separator: '-' }).forward('SRS0=abcd=AB=foo.com=bar@other.org', DAY),
      'SRS1-mjrs=other.org==abcd=AB=foo.com=bar@srs.example.net',
    );
    assert.equal(
      srs({ separator: '+' }).forward('SRS0+abcd=AB=foo.com=bar@other.org', DAY),
      'SRS1+T+Yy=other.org=+abcd=AB=foo.com=bar@srs.example.net',
    );
    assert.equal(
      srs({ separator: '-' }).forward('SRS1=abcd=foo.com==xyz=AB=a.com=b@other.org', DAY),
      'SRS1-O6aH=foo.com==xyz=AB=a.com=b@srs.example.net',
    );
  });

  it('uses the configured hash length (postsrsd -n6)', () => {
    assert.equal(
      srs({ hashLength: 6 }).forward('user@example.com', DAY),
      'SRS0=Onabr9=JM=example.com=user@srs.example.net',
    );
  });

  it('signs with the first secret only', () => {
    const rotated = srs({ secrets: ['secret-two', 'secret-one'] }).forward('user@example.com', DAY);
    assert.notEqual(rotated, 'SRS0=Onab=JM=example.com=user@srs.example.net');
    assert.match(rotated, /^SRS0=[A-Za-z0-9+/]{4}=JM=example\.com=user@srs\.example\.net$/);
  });

  it('the timestamp is the day number mod 1024 in base32', () => {
    assert.match(srs().forward('u@e.com', new Date(0)), /^SRS0=.{4}=AA=/);
    assert.match(srs().forward('u@e.com', new Date(1023 * DAY_MS)), /^SRS0=.{4}=77=/);
    assert.match(srs().forward('u@e.com', new Date(1024 * DAY_MS)), /^SRS0=.{4}=AA=/);
    assert.match(srs().forward('u@e.com', new Date(33 * DAY_MS - 1)), /^SRS0=.{4}=BA=/);
    assert.match(srs().forward('u@e.com', new Date(33 * DAY_MS)), /^SRS0=.{4}=BB=/);
  });
});

describe('Srs.forward: addresses left unchanged (as postsrsd)', () => {
  it('an address in the SRS domain (case-insensitive)', () => {
    assert.equal(srs().forward('user@srs.example.net', DAY), 'user@srs.example.net');
    assert.equal(srs().forward('user@SRS.Example.NET', DAY), 'user@SRS.Example.NET');
  });

  it('a valid SRS address of ours, whatever its domain ("500 Already rewritten")', () => {
    for (const address of [
      'SRS0=Onab=JM=example.com=user@other.org',
      'SRS1=mjrs=other.org==abcd=AB=foo.com=bar@foo.org',
      'SRS0=Onab=JM=example.com=user',
    ]) {
      assert.equal(srs().forward(address, DAY), address);
    }
  });

  it('an SRS1 local part without host and opaque parts (postsrsd: "No host in SRS1 address")', () => {
    for (const address of ['SRS1=foo@other.org', 'SRS1=@other.org', 'SRS1=h=host@other.org']) {
      assert.equal(srs().forward(address, DAY), address);
    }
    // postsrsd re-signs an SRS1 with an empty host; we do not (it would reverse to "SRS0y@").
    assert.equal(srs().forward('SRS1=x==y@a.org', DAY), 'SRS1=x==y@a.org');
  });
});

describe('Srs.forward: invalid input', () => {
  for (const address of ['noat', '', '@foo.com', 'user@', 'user@b=c.com']) {
    it(`throws InvalidInputError for ${JSON.stringify(address)}`, () => {
      assert.throws(() => srs().forward(address, DAY), InvalidInputError);
    });
  }

  it('throws InvalidInputError for an invalid date', () => {
    assert.throws(() => srs().forward('user@example.com', new Date(Number.NaN)), InvalidInputError);
  });

  it('a literal "SRS0" local part is ordinary (postsrsd would read past it)', () => {
    const out = srs().forward('SRS0@foo.com', DAY);
    assert.match(out, /^SRS0=.{4}=JM=foo\.com=SRS0@srs\.example\.net$/);
    assert.deepEqual(srs().reverse(out, DAY), { ok: true, address: 'SRS0@foo.com' });
  });

  it('splits at the last "@" (postsrsd: the first)', () => {
    const out = srs().forward('a@b@c.com', DAY);
    assert.match(out, /^SRS0=.{4}=JM=c\.com=a@b@srs\.example\.net$/);
    assert.deepEqual(srs().reverse(out, DAY), { ok: true, address: 'a@b@c.com' });
  });
});

describe('Srs.reverse', () => {
  it('decodes postsrsd SRS0 output', () => {
    assert.deepEqual(srs().reverse('SRS0=Onab=JM=example.com=user@srs.example.net', DAY), {
      ok: true,
      address: 'user@example.com',
    });
    assert.deepEqual(srs().reverse('SRS0=+HGp=JM=exämple.com=jösé@srs.example.net', DAY), {
      ok: true,
      address: 'jösé@exämple.com',
    });
    assert.deepEqual(srs().reverse('SRS0=aMvV=JM=example.com=a=b+c-d.e@srs.example.net', DAY), {
      ok: true,
      address: 'a=b+c-d.e@example.com',
    });
  });

  it('decodes SRS1 to the previous hop (the first forwarder)', () => {
    assert.deepEqual(srs().reverse('SRS1=mjrs=other.org==abcd=AB=foo.com=bar@srs.example.net', DAY), {
      ok: true,
      address: 'SRS0=abcd=AB=foo.com=bar@other.org',
    });
    assert.deepEqual(srs().reverse('SRS1+T+Yy=other.org=+abcd=AB=foo.com=bar@srs.example.net', DAY), {
      ok: true,
      address: 'SRS0+abcd=AB=foo.com=bar@other.org',
    });
    assert.deepEqual(srs().reverse('SRS1=6kGH=example.com=-fan@srs.example.net', DAY), {
      ok: true,
      address: 'SRS0-fan@example.com',
    });
  });

  it('is case-insensitive: tag, hash, timestamp and the hashed fields', () => {
    const expectOk = (address: string, original: string) =>
      assert.deepEqual(srs().reverse(address, DAY), { ok: true, address: original });
    expectOk('srs0+ONAB=jm=example.com=user@whatever', 'user@example.com');
    expectOk('srs0=onab=jm=example.com=user@srs.example.net', 'user@example.com');
    expectOk('SRS0=ONAB=JM=EXAMPLE.COM=USER@SRS.EXAMPLE.NET', 'USER@EXAMPLE.COM');
    expectOk('srs1=MJRS=OTHER.ORG==abcd=AB=foo.com=bar@x', 'SRS0=abcd=AB=foo.com=bar@OTHER.ORG');
  });

  it('accepts any separator after the tag, whatever our own', () => {
    for (const sep of ['=', '-', '+']) {
      assert.deepEqual(srs({ separator: '+' }).reverse(`SRS0${sep}Onab=JM=example.com=user@x`, DAY), {
        ok: true,
        address: 'user@example.com',
      });
    }
  });

  it('ignores the domain and accepts an address without one', () => {
    assert.deepEqual(srs().reverse('SRS0=Onab=JM=example.com=user', DAY), {
      ok: true,
      address: 'user@example.com',
    });
  });

  it('compares a longer hash on its first hashLength characters (postsrsd 1.10)', () => {
    assert.equal(srs().reverse('SRS0=Onabc=JM=example.com=user@x', DAY).ok, true);
    assert.equal(srs({ hashLength: 6 }).reverse('SRS0=Onab=JM=example.com=user@x', DAY).ok, false);
  });

  describe('failure reasons', () => {
    const reason = (address: string, now = DAY, s = srs()) => {
      const result = s.reverse(address, now);
      return result.ok ? 'ok' : result.reason;
    };

    it('not-srs', () => {
      for (const address of [
        'user@example.com',
        'SRS2=x@y',
        'SRS0@foo.com',
        'SRS0',
        '',
        'xSRS0=a=b=c=d@e',
        'SRS0/a=b=c=d@e',
        'user@SRS0=host',
      ]) {
        assert.equal(reason(address), 'not-srs', address);
      }
    });

    it('malformed', () => {
      for (const address of [
        'SRS0=@x',
        'SRS0=Onab@x',
        'SRS0=Onab=JM@x',
        'SRS0=Onab=JM=example.com@x',
        'SRS0=Onab=JM==user@x',
        'SRS0=Onab=JM=example.com=@x',
        'SRS0=Onab=J=example.com=user@x',
        'SRS0=Onab=JMA=example.com=user@x',
        'SRS0=Onab=J1=example.com=user@x',
        'SRS0=Onab=ı1=example.com=user@x',
        'SRS1=@x',
        'SRS1=mjrs@x',
        'SRS1=mjrs=other.org@x',
        'SRS1=mjrs==abcd@x',
        'SRS1=mjrs=other.org=@x',
      ]) {
        assert.equal(reason(address), 'malformed', address);
      }
    });

    it('bad-hash', () => {
      for (const address of [
        'SRS0=Onab=JM=example.com=usex@x',
        'SRS0=Onac=JM=example.com=user@x',
        'SRS0=Ona=JM=example.com=user@x',
        'SRS0==JM=example.com=user@x',
        // the timestamp is covered by the hash
        'SRS0=Onab=JL=example.com=user@x',
        'SRS1=mjrt=other.org==abcd=AB=foo.com=bar@x',
        'SRS1=mjrs=other.org==abcd=AB=foo.com=baz@x',
      ]) {
        assert.equal(reason(address), 'bad-hash', address);
      }
      assert.equal(reason('SRS0=Onab=JM=example.com=user@x', DAY, srs({ secrets: ['other'] })), 'bad-hash');
    });

    it('expired: the age is checked before the hash, like libsrs2', () => {
      assert.equal(reason('SRS0=XXXX=JM=example.com=user@x', daysAfter(DAY, 22)), 'expired');
      assert.equal(reason('SRS0=XXXX=JM=example.com=user@x', daysAfter(DAY, 21)), 'bad-hash');
    });

    it('SRS1 has no timestamp and never expires', () => {
      assert.equal(reason('SRS1=mjrs=other.org==abcd=AB=foo.com=bar@x', daysAfter(DAY, 500)), 'ok');
    });
  });

  it('never throws on hostile input, only on an invalid date', () => {
    assert.throws(() => srs().reverse('SRS0=a=b=c=d', new Date(Number.NaN)), InvalidInputError);
    assert.deepEqual(srs().reverse(undefined as unknown as string, DAY), { ok: false, reason: 'not-srs' });
  });
});

describe('Srs.reverse: timestamp age', () => {
  const address = srs().forward('user@example.com', DAY);

  it('accepts up to maxAgeDays (default 21) and rejects one day more', () => {
    assert.equal(srs().reverse(address, daysAfter(DAY, 21)).ok, true);
    assert.deepEqual(srs().reverse(address, daysAfter(DAY, 22)), { ok: false, reason: 'expired' });
    assert.equal(srs({ maxAgeDays: 3 }).reverse(address, daysAfter(DAY, 3)).ok, true);
    assert.deepEqual(srs({ maxAgeDays: 3 }).reverse(address, daysAfter(DAY, 4)), {
      ok: false,
      reason: 'expired',
    });
  });

  it('counts UTC days, not 24 hours', () => {
    const endOfDay = new Date('2026-11-23T23:59:59.999Z');
    const late = srs({ maxAgeDays: 0 }).forward('user@example.com', endOfDay);
    assert.equal(srs({ maxAgeDays: 0 }).reverse(late, new Date('2026-11-23T00:00:00Z')).ok, true);
    assert.deepEqual(srs({ maxAgeDays: 0 }).reverse(late, new Date('2026-11-24T00:00:00Z')), {
      ok: false,
      reason: 'expired',
    });
  });

  it('rejects timestamps from the future (libsrs2 reads them as ~1023 days old)', () => {
    assert.deepEqual(srs().reverse(address, daysAfter(DAY, -1)), { ok: false, reason: 'expired' });
    assert.equal(srs({ maxAgeDays: 1023 }).reverse(address, daysAfter(DAY, -1)).ok, true);
  });

  it('handles the mod-1024 wrap-around', () => {
    // Day slot 1020 ("74") signed, checked in the next cycle.
    const signedAt = new Date(20 * 1024 * DAY_MS + 1020 * DAY_MS + 3_600_000);
    const wrapped = srs().forward('user@example.com', signedAt);
    assert.match(wrapped, /^SRS0=.{4}=74=/);
    assert.equal(srs().reverse(wrapped, daysAfter(signedAt, 4)).ok, true); // slot 0
    assert.equal(srs().reverse(wrapped, daysAfter(signedAt, 21)).ok, true); // slot 17
    assert.deepEqual(srs().reverse(wrapped, daysAfter(signedAt, 22)), { ok: false, reason: 'expired' });
    // A 2-character stamp cannot tell cycles apart: 1024 days later it is fresh again (libsrs2 too).
    assert.equal(srs().reverse(wrapped, daysAfter(signedAt, 1024)).ok, true);
  });
});

describe('Srs: secret rotation', () => {
  it('verifies with every secret and signs with the first', () => {
    const old = srs({ secrets: ['secret-one'] });
    const rotated = srs({ secrets: ['secret-two', 'secret-one'] });
    const byOld = old.forward('user@example.com', DAY);
    const byNew = rotated.forward('user@example.com', DAY);
    assert.deepEqual(rotated.reverse(byOld, DAY), { ok: true, address: 'user@example.com' });
    assert.deepEqual(rotated.reverse(byNew, DAY), { ok: true, address: 'user@example.com' });
    assert.deepEqual(old.reverse(byNew, DAY), { ok: false, reason: 'bad-hash' });
    const srs1 = old.forward('SRS0=abcd=AB=foo.com=bar@other.org', DAY);
    assert.equal(rotated.reverse(srs1, DAY).ok, true);
  });
});

describe('Srs.isSrsAddress', () => {
  it('is a syntactic check of the tag and separator', () => {
    const s = srs();
    for (const address of [
      'SRS0=x@y',
      'srs1+x',
      'Srs0-a=b=c=d@e',
      'SRS0=Onab=JM=example.com=user@x',
      'SRS0=a@b@c',
    ]) {
      assert.equal(s.isSrsAddress(address), true, address);
    }
    for (const address of ['SRS0@x', 'SRS2=x@y', 'xSRS0=a@b', 'user@SRS0=host', 'SRS', '', 'SRSO=x@y']) {
      assert.equal(s.isSrsAddress(address), false, address);
    }
  });
});

describe('new Srs: option validation', () => {
  const bad: [string, Partial<SrsOptions>][] = [
    ['empty domain', { domain: '' }],
    ['domain with @', { domain: 'a@b.com' }],
    ['domain with a space', { domain: 'a b.com' }],
    ['no secrets', { secrets: [] }],
    ['empty secret', { secrets: ['ok', ''] }],
    ['secret with a newline', { secrets: ['a\nb'] }],
    ['secret longer than 64 bytes', { secrets: ['x'.repeat(65)] }],
    ['secret longer than 64 UTF-8 bytes', { secrets: ['é'.repeat(33)] }],
    ['negative maxAgeDays', { maxAgeDays: -1 }],
    ['maxAgeDays of a full cycle', { maxAgeDays: 1024 }],
    ['fractional maxAgeDays', { maxAgeDays: 1.5 }],
    ['hashLength 0', { hashLength: 0 }],
    ['hashLength 28', { hashLength: 28 }],
    ['separator /', { separator: '/' as '=' }],
  ];
  for (const [name, options] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => srs(options),
        (error: unknown) => error instanceof InvalidInputError && error.input === 'srs',
      );
    });
  }

  it('accepts the extremes', () => {
    srs({ secrets: ['x'.repeat(64)], maxAgeDays: 0, hashLength: 1 });
    srs({ maxAgeDays: 1023, hashLength: 27 });
    assert.match(srs({ hashLength: 27 }).forward('u@e.com', DAY), /^SRS0=[A-Za-z0-9+/]{27}=JM=/);
  });
});

describe('Srs: properties', () => {
  const atext = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}$/;
  /** RFC 5321 dot-string local parts, including '=', '+', '-' and dots; never an SRS tag. */
  const localPart = fc
    .array(fc.stringMatching(atext), { minLength: 1, maxLength: 4 })
    .map((atoms) => atoms.join('.'))
    .filter((local) => !/^SRS[01][=+-]/i.test(local));
  const label = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9-]{0,14}[A-Za-z0-9])?$/);
  const domain = fc
    .array(label, { minLength: 1, maxLength: 4 })
    .map((labels) => labels.join('.'))
    .filter((d) => !/^srs\d\.example$/i.test(d));
  const options = fc.record({
    secrets: fc.array(fc.stringMatching(/^[!-~]{1,64}$/), { minLength: 1, maxLength: 3 }),
    hashLength: fc.integer({ min: 1, max: 27 }),
    separator: fc.constantFrom('=' as const, '-' as const, '+' as const),
    maxAgeDays: fc.integer({ min: 0, max: 60 }),
  });
  /**
   * Hops of a chain need long hashes: with a 1-character case-insensitive hash, another hop's
   * address verifies under our secret about once in 38, and is then left alone as "ours".
   */
  const hopOptions = options.map((o) => ({ ...o, hashLength: Math.max(o.hashLength, 10) }));
  const date = fc.date({
    min: new Date('1970-01-01T00:00:00Z'),
    max: new Date('2200-01-01T00:00:00Z'),
    noInvalidDate: true,
  });

  it('forward then reverse round-trips SRS0 within maxAgeDays', () => {
    fc.assert(
      fc.property(localPart, domain, options, date, fc.nat(), (local, host, opts, now, elapsed) => {
        const s = new Srs({ domain: 'srs1.example', ...opts });
        const sender = `${local}@${host}`;
        const rewritten = s.forward(sender, now);
        assert.ok(rewritten.startsWith(`SRS0${opts.separator}`));
        assert.ok(s.isSrsAddress(rewritten));
        const later = daysAfter(now, elapsed % (opts.maxAgeDays + 1));
        assert.deepEqual(s.reverse(rewritten, later), { ok: true, address: sender });
        // Reversing is case-insensitive (MTAs may lower-case the local part).
        assert.deepEqual(s.reverse(rewritten.toLowerCase(), later), {
          ok: true,
          address: sender.toLowerCase(),
        });
        // Re-forwarding an address of ours leaves it alone.
        assert.equal(s.forward(rewritten, later), rewritten);
      }),
    );
  });

  it('expires exactly after maxAgeDays', () => {
    fc.assert(
      fc.property(localPart, domain, options, date, fc.nat(), (local, host, opts, now, extra) => {
        const s = new Srs({ domain: 'srs1.example', ...opts });
        const rewritten = s.forward(`${local}@${host}`, now);
        const age = opts.maxAgeDays + 1 + (extra % (1023 - opts.maxAgeDays));
        assert.deepEqual(s.reverse(rewritten, daysAfter(now, age)), { ok: false, reason: 'expired' });
      }),
    );
  });

  it('SRS1 chains reverse hop by hop to the original', () => {
    fc.assert(
      fc.property(
        localPart,
        domain,
        hopOptions,
        hopOptions,
        hopOptions,
        date,
        (local, host, a, b, c, now) => {
          // Distinct secrets: a forwarder sharing the first one's secret would see "already rewritten".
          const withPrefix = (prefix: string, secrets: string[]) =>
            secrets.map((x) => `${prefix}${x}`.slice(0, 64));
          const first = new Srs({ domain: 'srs1.example', ...a, secrets: withPrefix('1:', a.secrets) });
          const second = new Srs({ domain: 'srs2.example', ...b, secrets: withPrefix('2:', b.secrets) });
          const third = new Srs({ domain: 'srs3.example', ...c, secrets: withPrefix('3:', c.secrets) });
          const sender = `${local}@${host}`;
          const hop1 = first.forward(sender, now);
          const hop2 = second.forward(hop1, now);
          const hop3 = third.forward(hop2, now);
          assert.ok(hop2.startsWith(`SRS1${b.separator}`) && hop2.endsWith('@srs2.example'));
          assert.ok(hop3.startsWith(`SRS1${c.separator}`) && hop3.endsWith('@srs3.example'));
          // Bounces to any SRS1 hop go straight back to the first forwarder (the SRS paper's SRS1).
          assert.deepEqual(third.reverse(hop3, now), { ok: true, address: hop1 });
          assert.deepEqual(second.reverse(hop2, now), { ok: true, address: hop1 });
          assert.deepEqual(first.reverse(hop1, now), { ok: true, address: sender });
        },
      ),
    );
  });

  it('reverse never throws and agrees with isSrsAddress on arbitrary strings', () => {
    const s = srs();
    const fragment = fc.constantFrom('SRS0', 'SRS1', 'srs0', '=', '-', '+', '@', 'JM', 'Onab', 'ı', 'K', '.');
    const srsish = fc
      .tuple(fc.constantFrom('SRS0', 'SRS1', 'srs1', 'Srs0'), fc.constantFrom('=', '-', '+', ''))
      .chain(([tag, sep]) =>
        fc
          .array(fc.oneof(fragment, fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 12 })
          .map((parts) => `${tag}${sep}${parts.join('')}`),
      );
    const anyString = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), srsish);
    fc.assert(
      fc.property(anyString, date, (input, now) => {
        const result = s.reverse(input, now);
        assert.equal(typeof result.ok, 'boolean');
        if (!result.ok) assert.ok(['not-srs', 'malformed', 'bad-hash', 'expired'].includes(result.reason));
        assert.equal(result.ok === false && result.reason === 'not-srs', !s.isSrsAddress(input));
      }),
      { numRuns: 2000 },
    );
  });
});
